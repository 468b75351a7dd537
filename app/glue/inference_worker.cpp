#include "app/glue/inference_worker.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>
#include <exception>

#include "engine/core/domain_weights.h"
#include "engine/nn/bank.h"

namespace souplab::gui {
namespace {

QString summarize(const souplab::BankFacts& f) {
  const auto millions = [](int64_t n) { return QString::number(double(n) / 1e6, 'f', 2) + "M"; };
  QString s = QString::fromStdString(f.kind);
  if (!f.run_name.empty()) s += " '" + QString::fromStdString(f.run_name) + "'";
  s += QStringLiteral(" · step %1 · %2 domains").arg(f.step).arg(f.domains.size());
  if (f.kind == "soup") s += QStringLiteral(" · %1 experts").arg(f.config.bank.n_experts);
  if (f.kind == "moe")  // one model for every h: the sliders change nothing but the weighting
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

std::vector<double> referenceWeights(const souplab::BankFacts& f) {
  return f.domains.empty() ? std::vector<double>{}
                           : souplab::uniform_domain_weights(f.domains.size());
}

}  // namespace

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
  qRegisterMetaType<SpecialistPtr>("SpecialistPtr");
}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::setDevice(const QString& device) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_device = device;
}

std::shared_ptr<const souplab::Bank> InferenceWorker::bank() {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_bank;
}

quint64 InferenceWorker::requestWeights(const std::vector<double>& h) {
  bool post = false;
  quint64 generation = 0;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_latest = h;
    generation = ++m_generation;
    post = !m_wakePending;
    m_wakePending = true;
  }
  if (post) postWake();
  return generation;
}

void InferenceWorker::postWake() {
  // One queued call at most: the slot, not the event queue, carries the data.
  QMetaObject::invokeMethod(this, [this] { processLatest(); }, Qt::QueuedConnection);
}

bool InferenceWorker::newerRequestWaiting() {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_handled != m_generation;
}

void InferenceWorker::processLatest() {
  for (;;) {
    std::vector<double> h;
    quint64 generation = 0;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_wakePending = false;
      // Without a bank the request stays pending; loadBank() drops or serves it.
      if (!m_bank || m_handled == m_generation) return;
      h = m_latest;
      generation = m_handled = m_generation;
    }
    // A request sized for the previous bank (moves in flight during a reload) is dropped.
    if (h.size() != m_domainCount) continue;
    try {
      QElapsedTimer timer;
      timer.start();
      SpecialistPtr specialist = m_bank->instantiate(h);
      const double instantiateMs = double(timer.nsecsElapsed()) / 1e6;
      ++m_instantiations;
      // Echo the h as requested (not the engine's renormalised copy): the GUI compares it with
      // its sliders bit for bit.
      if (m_quick) {
        timer.restart();
        std::vector<double> losses = souplab::evaluate_per_domain(*specialist, *m_quick);
        Q_EMIT specialistReady(generation, h, losses, instantiateMs,
                               double(timer.nsecsElapsed()) / 1e6, specialist, false);
        // Still moving: the precise pass would only delay the next move's specialist.
        if (newerRequestWaiting()) continue;
      }
      std::vector<double> losses;
      double evalMs = 0;
      if (m_validation) {
        timer.restart();
        losses = souplab::evaluate_per_domain(*specialist, *m_validation,
                                              [this] { return newerRequestWaiting(); });
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
  if (m_quick) out.first = souplab::evaluate_per_domain(model, *m_quick);
  if (m_validation) out.second = souplab::evaluate_per_domain(model, *m_validation);
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
    auto bank = souplab::Bank::load(path.toStdString(), device.toStdString());
    const souplab::BankFacts& facts = bank->facts();
    try {
      m_validation = souplab::ValidationSet::for_bank(facts, m_windows.load());
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
    std::pair<std::vector<double>, std::vector<double>> reference;
    if (!facts.domains.empty() || facts.kind != "soup")
      reference = evaluateBoth(*bank->instantiate(referenceWeights(facts)));
    QStringList domains;
    for (const auto& d : facts.domains) domains << QString::fromStdString(d);

    m_domainCount = facts.domains.size();
    {
      // Requests made for the previous bank are void; the GUI re-requests after bankLoaded.
      std::lock_guard<std::mutex> lock(m_mutex);
      m_bank = bank;
      m_handled = m_generation;
    }
    Q_EMIT bankLoaded(summarize(facts), domains, facts.training_mixture);
    const QString label = facts.domains.empty() ? QStringLiteral("this model")
                                                : QStringLiteral("generic (uniform h)");
    if (!reference.first.empty()) Q_EMIT referenceReady(reference.first, label, false);
    if (!reference.second.empty()) Q_EMIT referenceReady(reference.second, label, true);
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
    auto other = souplab::Bank::load(path.toStdString(), device.toStdString());
    const auto& facts = other->facts();
    const auto losses = evaluateBoth(*other->instantiate(referenceWeights(facts)));
    QString name = QFileInfo(path).fileName();
    if (!facts.run_name.empty()) name = QString::fromStdString(facts.run_name);
    const QString label = QStringLiteral("%1 (%2)").arg(name, QString::fromStdString(facts.kind));
    if (!losses.first.empty()) Q_EMIT referenceReady(losses.first, label, false);
    Q_EMIT referenceReady(losses.second, label, true);
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  } catch (...) {
    Q_EMIT errorOccurred(path + QStringLiteral(": loading failed with an unknown error"));
  }
}

}  // namespace souplab::gui
