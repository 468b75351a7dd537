#include "app/glue/inference_worker.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>
#include <exception>

#include "souplab/domain_weights.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"

namespace souplab::gui {
namespace {

QString summarize(const souplab::ModelFacts& f) {
  const auto millions = [](int64_t n) { return QString::number(double(n) / 1e6, 'f', 2) + "M"; };
  QString s = QString::fromUtf8(souplab::model_kind_name(f.kind));
  if (!f.run_name.empty()) s += " '" + QString::fromStdString(f.run_name) + "'";
  s += QStringLiteral(" · step %1 · %2 domains").arg(f.step).arg(f.domains.size());
  if (f.kind == souplab::ModelKind::kSoup) s += QStringLiteral(" · %1 experts").arg(f.config.bank.n_experts);
  if (f.kind == souplab::ModelKind::kMoe)  // one model for every h: the sliders change nothing but the weighting
    return s + QStringLiteral(" · MoE %1 experts top-%2 · %3 params, %4 active per token · %5")
                   .arg(f.config.moe.n_experts).arg(f.config.moe.top_k)
                   .arg(millions(f.counts.total), millions(f.counts.active),
                        QString::fromStdString(f.device));
  s += QStringLiteral(" · specialist %1 params").arg(millions(f.counts.instantiated));
  if (f.counts.total > f.counts.instantiated)
    s += QStringLiteral(" (bank %1)").arg(millions(f.counts.total));
  s += QStringLiteral(" · %1").arg(QString::fromStdString(f.device));
  return s;
}

}  // namespace

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
  qRegisterMetaType<SpecialistPtr>("SpecialistPtr");
  qRegisterMetaType<souplab::ModelCapabilities>("souplab::ModelCapabilities");
}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::setDevice(const QString& device) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_device = device;
}

std::shared_ptr<const souplab::Model> InferenceWorker::bank() {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_bank;
}

quint64 InferenceWorker::requestWeights(const std::vector<double>& h) {
  // One queued call at most: the slot, not the event queue, carries the data.
  return m_requests.put(h, [this] {
    QMetaObject::invokeMethod(this, [this] { processLatest(); }, Qt::QueuedConnection);
  });
}

void InferenceWorker::processLatest() {
  // Without a bank a request stays pending; loadBank() drops or serves it.
  while (auto taken = m_requests.take(m_bank != nullptr)) {
    const std::vector<double>& h = taken->request;
    const quint64 generation = taken->generation;
    // A request sized for the previous bank (moves in flight during a reload) is dropped.
    if (h.size() != m_domainCount) continue;
    try {
      QElapsedTimer timer;
      timer.start();
      SpecialistPtr specialist = m_bank->instantiate(m_bank->weights(h));
      const double instantiateMs = double(timer.nsecsElapsed()) / 1e6;
      ++m_instantiations;
      // Echo the h as requested (not the engine's renormalised copy): the GUI compares it with
      // its sliders bit for bit.
      if (m_quick) {
        timer.restart();
        std::vector<double> losses = specialist->evaluate(*m_quick);
        Q_EMIT specialistReady(generation, h, losses, instantiateMs,
                               double(timer.nsecsElapsed()) / 1e6, specialist, false);
        // Still moving: the precise pass would only delay the next move's specialist.
        if (m_requests.newerWaiting()) continue;
      }
      std::vector<double> losses;
      double evalMs = 0;
      if (m_validation) {
        timer.restart();
        losses = specialist->evaluate(*m_validation, [this] { return m_requests.newerWaiting(); });
        evalMs = double(timer.nsecsElapsed()) / 1e6;
        if (losses.empty()) continue;  // a newer move came in: its specialist comes first
      }
      Q_EMIT specialistReady(generation, h, losses, instantiateMs, evalMs, specialist, true);
    } catch (const std::exception& e) {
      Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    } catch (...) {
      Q_EMIT errorOccurred(QStringLiteral("instantiation failed with an unknown error"));
    }
  }
}

std::pair<std::vector<double>, std::vector<double>> InferenceWorker::evaluateBoth(
    const souplab::Specialist& model) const {
  std::pair<std::vector<double>, std::vector<double>> out;
  if (m_quick) out.first = model.evaluate(*m_quick);
  if (m_validation) out.second = model.evaluate(*m_validation);
  return out;
}

void InferenceWorker::loadBank(const QString& path) {
  QString device;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    device = m_device;
    m_bank.reset();
  }
  m_validation.reset();
  m_quick.reset();
  m_domainCount = 0;
  try {
    auto bank = souplab::Model::load(path.toStdString(), device.toStdString());
    const souplab::ModelFacts& facts = bank->facts();
    try {
      m_validation = souplab::ValidationSet::for_model(facts, m_windows.load());
      // A fixed token budget per slider move: fewer, then shorter windows for more domains.
      const int askedBlock = m_quickBlock.load();  // read once: the setter may run meanwhile
      const souplab::WindowShape quick = souplab::quick_window_shape(
          int(facts.domains.size()), askedBlock, m_quickWindows.load());
      const int quickBlock = askedBlock > 0 ? quick.block : 0;
      const int quickWindows = quick.windows;
      if (quickBlock > 0 && quickBlock < facts.config.model.block_size) {
        m_quick = souplab::ValidationSet::from_corpus(facts.corpus_dir, facts.cache_dir, quickBlock,
                                                      quickWindows);
        // Same domains in the same order, or the quick bars would be mislabelled.
        if (m_quick->domains() != m_validation->domains()) m_quick.reset();
      }
    } catch (const std::exception& e) {
      // The bank still instantiates and generates without its corpus; say why there are no losses.
      m_validation.reset();
      m_quick.reset();
      Q_EMIT errorOccurred(QStringLiteral("%1: no validation losses (%2)")
                               .arg(QFileInfo(path).fileName(), QString::fromStdString(e.what())));
    }
    // The generic reference before announcing the bank, so that the first slider request is not
    // timed behind it.
    const auto reference = evaluateBoth(*bank->instantiate(bank->reference_weights()));
    QStringList domains;
    for (const auto& d : facts.domains) domains << QString::fromStdString(d);

    m_domainCount = facts.domains.size();
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_bank = bank;
    }
    // Requests made for the previous bank are void; the GUI re-requests after bankLoaded.
    m_requests.dropPending();
    Q_EMIT bankLoaded(summarize(facts), domains, facts.training_mixture.values(), bank->capabilities());
    emitBankReference(reference);
  } catch (const std::exception& e) {
    m_validation.reset();
    m_quick.reset();
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  } catch (...) {
    m_validation.reset();
    m_quick.reset();
    Q_EMIT errorOccurred(path + QStringLiteral(": loading failed with an unknown error"));
  }
  processLatest();
}

void InferenceWorker::emitBankReference(const std::pair<std::vector<double>, std::vector<double>>& losses) {
  const QString label = m_domainCount == 0 ? QStringLiteral("this model") : QStringLiteral("soup at uniform h");
  if (!losses.first.empty()) Q_EMIT referenceReady(losses.first, label, false);
  if (!losses.second.empty()) Q_EMIT referenceReady(losses.second, label, true);
}

void InferenceWorker::useBankReference() {
  if (!m_bank) return;
  try {
    emitBankReference(evaluateBoth(*m_bank->instantiate(m_bank->reference_weights())));
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  }
}

void InferenceWorker::loadReference(const QString& path) {
  if (!m_validation) {
    Q_EMIT errorOccurred(path + QStringLiteral(": cannot compare, no validation data is loaded"));
    return;
  }
  try {
    QString device;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      device = m_device;
    }
    auto other = souplab::Model::load(path.toStdString(), device.toStdString());
    const auto& facts = other->facts();
    const auto losses = evaluateBoth(*other->instantiate(other->reference_weights()));
    QString name = QFileInfo(path).fileName();
    if (!facts.run_name.empty()) name = QString::fromStdString(facts.run_name);
    const QString label = QStringLiteral("%1 (%2)").arg(name, QString::fromUtf8(souplab::model_kind_name(facts.kind)));
    if (!losses.first.empty()) Q_EMIT referenceReady(losses.first, label, false);
    Q_EMIT referenceReady(losses.second, label, true);
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  } catch (...) {
    Q_EMIT errorOccurred(path + QStringLiteral(": loading failed with an unknown error"));
  }
}

}  // namespace souplab::gui
