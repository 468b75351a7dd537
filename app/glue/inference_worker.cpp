#include "app/glue/inference_worker.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "app/glue/core_share.h"
#include "souplab/domain_weights.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"

namespace souplab::gui {
namespace {

QString summarize(const souplab::ModelFacts& f) {
  const auto millions = [](int64_t n) { return QString::number(double(n) / 1e6, 'f', 2) + "M"; };
  QString s = QString::fromUtf8(souplab::model_kind_name(f.kind));
  // An old file loads, but the user should know its bytes were not checked.
  if (!f.verified) s = QStringLiteral("unverified (no checksums) ") + s;
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
  if (f.precision != "fp32") s += QStringLiteral(" %1").arg(QString::fromStdString(f.precision));
  return s;
}

}  // namespace

double meanOfWindows(const std::vector<double>& windows) {
  double sum = 0;
  for (double w : windows) sum += w;
  return windows.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / double(windows.size());
}

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
  qRegisterMetaType<SpecialistPtr>("souplab::gui::SpecialistPtr");
  qRegisterMetaType<ValidationSetPtr>("souplab::gui::ValidationSetPtr");
  qRegisterMetaType<PathResult>("souplab::gui::PathResult");
  qRegisterMetaType<souplab::ModelCapabilities>("souplab::ModelCapabilities");
  qRegisterMetaType<LoadOptions>("souplab::gui::LoadOptions");
  qRegisterMetaType<LoadedBank>("souplab::gui::LoadedBank");
  qRegisterMetaType<ModelEvaluation>("souplab::gui::ModelEvaluation");
  qRegisterMetaType<SpecialistResult>("souplab::gui::SpecialistResult");
  qRegisterMetaType<SliceResult>("souplab::gui::SliceResult");
}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::setQuickDomains(const std::vector<int>& domains) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_quickDomains = domains;
}

std::shared_ptr<const souplab::Model> InferenceWorker::bank() {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_bank;
}

ValidationSetPtr InferenceWorker::validation() {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_sharedValidation;
}

void InferenceWorker::reportFailure(const QString& what) {
  try {
    throw;
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(what.isEmpty() ? QString::fromStdString(e.what())
                                        : what + QStringLiteral(": ") + QString::fromStdString(e.what()));
  } catch (...) {
    Q_EMIT errorOccurred((what.isEmpty() ? QStringLiteral("the explorer's worker") : what) +
                         QStringLiteral(": failed with an unknown error"));
  }
}

std::vector<double> InferenceWorker::quickLosses(const souplab::Specialist& model) {
  std::vector<int> domains;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    domains = m_quickDomains;
  }
  if (domains.empty()) return model.evaluate(*m_quick);
  std::vector<double> out(m_domainCount, std::numeric_limits<double>::quiet_NaN());
  for (int d : domains)
    if (d >= 0 && size_t(d) < m_domainCount)
      out[size_t(d)] = meanOfWindows(model.window_losses(*m_quick, size_t(d), 0, m_quick->windows(size_t(d))));
  return out;
}

quint64 InferenceWorker::requestWeights(const std::vector<double>& h) {
  // One queued call at most: the slot, not the event queue, carries the data.
  return m_requests.put(h, [this] {
    QMetaObject::invokeMethod(this, [this] { processLatest(); }, Qt::QueuedConnection);
  });
}

PerWindow InferenceWorker::firstWindows(const souplab::Specialist& model, bool cancellable) const {
  PerWindow out;
  for (size_t d = 0; d < m_domainCount; ++d) {
    if (cancellable && m_requests.newerWaiting()) return {};
    out.push_back(model.window_losses(*m_validation, d, 0, m_firstWindows));
  }
  return out;
}

void InferenceWorker::processLatest() {
  // Without a bank a request stays pending; loadBank() drops or serves it.
  while (auto taken = m_requests.take(m_bank != nullptr)) {
    fitThisThreadToFreeCores();  // a training may have started or ended since the last move
    SpecialistResult r;
    r.generation = taken->generation;
    r.h = std::move(taken->request);
    // A request sized for the previous bank (moves in flight during a reload) is dropped.
    if (r.h.size() != m_domainCount) continue;
    try {
      QElapsedTimer timer;
      timer.start();
      r.specialist = m_bank->instantiate(m_bank->weights(r.h));
      r.instantiateMs = double(timer.nsecsElapsed()) / 1e6;
      ++m_instantiations;
      if (m_quick) {
        timer.restart();
        r.quick = quickLosses(*r.specialist);
        r.evalMs = double(timer.nsecsElapsed()) / 1e6;
        Q_EMIT specialistReady(r);
        r.quick.clear();
        // Still moving: the full tier would only delay the next move's specialist.
        if (m_requests.newerWaiting()) continue;
      }
      r.precise = true;
      r.evalMs = 0;
      if (m_inspectable) r.inspection = std::make_shared<const souplab::SoupInspection>(m_bank->inspect(m_bank->weights(r.h)));
      if (m_mixes)
        r.mixing = std::make_shared<const souplab::MixingRole>(
            m_bank->mixing_role(m_bank->weights(r.h), m_validation.get(), m_firstWindows));
      if (m_validation) {
        timer.restart();
        r.windows = firstWindows(*r.specialist, true);
        if (r.windows.empty()) continue;  // a newer move came in: its specialist comes first
        r.evalMs = double(timer.nsecsElapsed()) / 1e6;
      }
      Q_EMIT specialistReady(r);
    } catch (...) {
      reportFailure(QString());
    }
  }
}

ModelEvaluation InferenceWorker::evaluate(SpecialistPtr model, const QString& label) {
  fitThisThreadToFreeCores();  // after Model::load, which sized this thread's team to every core
  ModelEvaluation e;
  e.model = std::move(model);
  e.label = label;
  if (m_validation) e.windows = firstWindows(*e.model, false);
  if (m_quick) e.quick = e.model->evaluate(*m_quick);
  return e;
}

void InferenceWorker::evaluateSlice(quint64 chain, const SpecialistPtr& mine, const SpecialistPtr& reference,
                                    size_t domain, int mineFrom, int mineCount, int referenceFrom,
                                    int referenceCount) {
  if (!m_validation || domain >= m_domainCount || !mine || !reference) return;  // a bank since replaced
  QElapsedTimer timer;
  timer.start();
  try {
    fitThisThreadToFreeCores();
    SliceResult r;
    r.chain = chain;
    r.domain = domain;
    if (mineCount > 0) r.mine = mine->window_losses(*m_validation, domain, mineFrom, mineCount);
    if (referenceCount > 0) r.reference = reference->window_losses(*m_validation, domain, referenceFrom, referenceCount);
    r.ms = double(timer.nsecsElapsed()) / 1e6;
    Q_EMIT sliceEvaluated(r);
  } catch (...) {
    reportFailure(QString());
  }
}

void InferenceWorker::loadBank(const QString& path, const LoadOptions& options) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_bank.reset();
    m_sharedValidation.reset();
  }
  m_validation.reset();
  m_quick.reset();
  m_domainCount = 0;
  m_options = options;
  try {
    auto bank = souplab::Model::load(path.toStdString(), options.device.toStdString(), options.precision.toStdString());
    const souplab::ModelFacts& facts = bank->facts();
    LoadedBank loaded;
    try {
      m_firstWindows = std::max(1, options.fullWindows);
      m_validation = souplab::ValidationSet::for_model(facts, std::max(m_firstWindows, options.refineWindows));
      // A fixed token budget per slider move: fewer, then shorter windows for more domains.
      const souplab::WindowShape quick =
          souplab::quick_window_shape(int(facts.domains.size()), options.quickBlock, options.quickWindows);
      const int quickBlock = options.quickBlock > 0 ? quick.block : 0;
      if (quickBlock > 0 && quickBlock < facts.config.model.block_size) {
        m_quick = souplab::ValidationSet::from_corpus(facts.corpus_dir, facts.cache_dir, quickBlock, quick.windows);
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
    m_domainCount = facts.domains.size();
    m_inspectable = facts.kind == souplab::ModelKind::kSoup && facts.config.bank.n_experts > 0;
    // Any other model shows its MixingRole when it has one (a MoE measures its routing here,
    // once, on the full tier's windows); one that mixes nothing says so by throwing.
    m_mixes = false;
    if (!m_inspectable && !facts.domains.empty()) {
      try {
        bank->mixing_role(bank->reference_weights(), m_validation.get(), m_firstWindows);
        m_mixes = true;
      } catch (const std::exception&) {
      }
    }
    loaded.summary = summarize(facts);
    for (const auto& d : facts.domains) loaded.domains << QString::fromStdString(d);
    loaded.trainingMixture = facts.training_mixture.values();
    loaded.can = bank->capabilities();
    loaded.modelBlockSize = facts.config.model.block_size;
    loaded.hasValidation = m_validation != nullptr;
    loaded.firstWindows = m_validation ? m_firstWindows : 0;
    if (m_validation) {
      loaded.blockSize = m_validation->block_size();
      for (size_t d = 0; d < m_domainCount; ++d)
        loaded.windowsPerDomain.push_back(std::min(m_validation->windows(d), std::max(m_firstWindows, options.refineWindows)));
    }
    loaded.reference = evaluate(bank->instantiate(bank->reference_weights()),
                                m_domainCount == 0 ? QStringLiteral("this model") : QStringLiteral("soup at uniform h"));
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_bank = bank;
      m_sharedValidation = m_validation;
    }
    // Requests made for the previous bank are void; the session re-requests after bankLoaded.
    m_requests.dropPending();
    Q_EMIT bankLoaded(loaded);
  } catch (...) {
    m_validation.reset();
    m_quick.reset();
    m_domainCount = 0;
    reportFailure(QString());
  }
  processLatest();
}

void InferenceWorker::useBankReference() {
  if (!m_bank) return;
  try {
    Q_EMIT referenceEvaluated(evaluate(m_bank->instantiate(m_bank->reference_weights()),
                                       m_domainCount == 0 ? QStringLiteral("this model")
                                                          : QStringLiteral("soup at uniform h")));
  } catch (...) {
    reportFailure(QString());
  }
}

void InferenceWorker::loadReference(const QString& path) {
  if (!m_validation) {
    Q_EMIT errorOccurred(path + QStringLiteral(": cannot compare, no validation data is loaded"));
    return;
  }
  try {
    // In the bank's precision: the bars compare like with like.
    auto other = souplab::Model::load(path.toStdString(), m_options.device.toStdString(),
                                      m_options.precision.toStdString());
    const auto& facts = other->facts();
    QString name = QFileInfo(path).fileName();
    if (!facts.run_name.empty()) name = QString::fromStdString(facts.run_name);
    // Evaluated on the bank's windows whatever it was trained on: the pairs are window by window.
    Q_EMIT referenceEvaluated(
        evaluate(other->instantiate(other->reference_weights()),
                 QStringLiteral("%1 (%2)").arg(name, QString::fromUtf8(souplab::model_kind_name(facts.kind)))));
  } catch (...) {
    reportFailure(path);
  }
}

void InferenceWorker::loadTarget(const QString& path) {
  if (!m_bank) return;
  try {
    const QString label = QFileInfo(path).fileName();
    Q_EMIT targetLoaded(souplab::ValidationSet::from_text(path.toStdString(), label.toStdString(),
                                                          m_bank->facts().config.model.block_size, 16),
                        label);
  } catch (...) {
    reportFailure(QString());
  }
}

void InferenceWorker::evaluateTarget(quint64 generation, const ValidationSetPtr& target, const SpecialistPtr& mine,
                                     const SpecialistPtr& reference) {
  if (!target || !mine) return;
  try {
    fitThisThreadToFreeCores();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double theirs = reference ? reference->evaluate(*target).at(0) : nan;
    Q_EMIT targetEvaluated(generation, mine->evaluate(*target).at(0), theirs);
  } catch (...) {
    reportFailure(QString::fromStdString(target->domains().empty() ? std::string("target") : target->domains()[0]));
  }
}

void InferenceWorker::evaluatePath(quint64 id, const std::vector<double>& hA, const std::vector<double>& hB,
                                   int points, const SpecialistPtr& reference) {
  PathResult r;
  r.id = id;
  // The quick tier's short windows: 2 x (points + 1) evaluations stay near a second at the
  // default size; with one tier, the full tier's first windows (as its bars).
  const ValidationSetPtr windows = m_quick ? m_quick : m_validation;
  if (!m_bank || hA.size() != m_domainCount || hB.size() != m_domainCount)
    r.error = tr("its weights do not match the bank's %1 domains (was the bank replaced?)").arg(m_domainCount);
  else if (!windows)
    r.error = tr("this model has no validation windows to evaluate a path on");
  if (!r.error.isEmpty()) {
    Q_EMIT pathEvaluated(r);
    return;
  }
  try {
    fitThisThreadToFreeCores();
    QElapsedTimer timer;
    timer.start();
    // The quick set whole; the full tier's set (which keeps windows for the refinement) on its
    // first windows only, as the full-tier bars.
    const int cap = m_quick ? 0 : m_firstWindows;
    r.points = souplab::loss_path(*m_bank, m_bank->weights(hA), m_bank->weights(hB), points, *windows, cap);
    if (reference) r.reference = souplab::first_windows_losses(*reference, *windows, cap);  // the same windows
    const int perDomain = cap > 0 ? std::min(cap, windows->windows(0)) : windows->windows(0);
    r.windows = tr("%1 windows of %2 bytes per domain").arg(perDomain).arg(windows->block_size());
    r.ms = double(timer.nsecsElapsed()) / 1e6;
    Q_EMIT pathEvaluated(r);
  } catch (const std::exception& e) {
    r.points.clear();
    r.error = QString::fromStdString(e.what()).section(QLatin1Char('\n'), 0, 0);
    Q_EMIT pathEvaluated(r);
  }
}

}  // namespace souplab::gui
