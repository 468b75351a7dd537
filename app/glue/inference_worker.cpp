#include "app/glue/inference_worker.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>
#include <QTimer>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "app/glue/core_share.h"
#include "souplab/domain_weights.h"
#include "souplab/loss_estimate.h"
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

// A domain's loss over its windows: every window has the same number of bytes.
double mean(const std::vector<double>& windows) {
  double sum = 0;
  for (double w : windows) sum += w;
  return windows.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / double(windows.size());
}

}  // namespace

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
  qRegisterMetaType<SpecialistPtr>("SpecialistPtr");
  qRegisterMetaType<souplab::ModelCapabilities>("souplab::ModelCapabilities");
  qRegisterMetaType<souplab::gui::RefinedLosses>("souplab::gui::RefinedLosses");
}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::setDevice(const QString& device) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_device = device;
}

void InferenceWorker::setPrecision(const QString& precision) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_precision = precision;
}

void InferenceWorker::setQuickDomains(const std::vector<int>& domains) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_quickDomains = domains;
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
      out[size_t(d)] = mean(model.window_losses(*m_quick, size_t(d), 0, m_quick->windows(size_t(d))));
  return out;
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

std::vector<std::vector<double>> InferenceWorker::firstWindows(const souplab::Specialist& model,
                                                               bool cancellable) const {
  std::vector<std::vector<double>> out;
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
    const std::vector<double>& h = taken->request;
    const quint64 generation = taken->generation;
    // A request sized for the previous bank (moves in flight during a reload) is dropped.
    if (h.size() != m_domainCount) continue;
    m_refine.active = false;  // the h refined so far is no longer the one asked for
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
        std::vector<double> losses = quickLosses(*specialist);
        Q_EMIT specialistReady(generation, h, losses, instantiateMs,
                               double(timer.nsecsElapsed()) / 1e6, specialist, false);
        // Still moving: the precise pass would only delay the next move's specialist.
        if (m_requests.newerWaiting()) continue;
      }
      if (!m_validation) {
        Q_EMIT specialistReady(generation, h, {}, instantiateMs, 0, specialist, true);
        continue;
      }
      timer.restart();
      auto windows = firstWindows(*specialist, true);
      if (windows.empty()) continue;  // a newer move came in: its specialist comes first
      std::vector<double> losses;
      for (const auto& w : windows) losses.push_back(mean(w));
      Q_EMIT specialistReady(generation, h, losses, instantiateMs, double(timer.nsecsElapsed()) / 1e6,
                             specialist, true);
      emitTarget(generation, *specialist);
      m_refine.generation = generation;
      m_refine.specialist = specialist;
      m_refine.windows = std::move(windows);
      startRefinement(m_firstWindows);
    } catch (const std::exception& e) {
      Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    } catch (...) {
      Q_EMIT errorOccurred(QStringLiteral("instantiation failed with an unknown error"));
    }
  }
}

void InferenceWorker::startRefinement(int windows) {
  m_refine.active = m_reference && m_refine.specialist && m_refine.windows.size() == m_domainCount;
  m_refine.target = windows;
  m_refine.nextDomain = 0;
  const quint64 chain = ++m_refine.chain;  // a slice still posted for an earlier one is void
  if (m_refine.active) QMetaObject::invokeMethod(this, [this, chain] { refineSlice(chain); }, Qt::QueuedConnection);
}

void InferenceWorker::refineSlice(quint64 chain) {
  if (chain != m_refine.chain || !m_refine.active) return;
  // A newer request is served first (its wake-up is already posted) and ends this refinement.
  if (m_requests.newerWaiting()) {
    m_refine.active = false;
    return;
  }
  QElapsedTimer timer;
  timer.start();
  try {
    fitThisThreadToFreeCores();
    // A slice of at most ~kSliceTokens tokens (both models), so that a slider move waits ~75 ms
    // at most behind it at the demo size (quick_window_shape's measured rate).
    constexpr int kSliceTokens = 1024;
    const size_t d = m_refine.nextDomain;
    const int want = std::min(m_refine.target, m_validation->windows(d));
    const int chunk = std::max(1, kSliceTokens / (2 * m_validation->block_size()));
    auto extend = [&](const souplab::Specialist& model, std::vector<double>& have) {
      const int more = std::min(chunk, want - int(have.size()));
      if (more <= 0) return;
      const auto losses = model.window_losses(*m_validation, d, int(have.size()), more);
      have.insert(have.end(), losses.begin(), losses.end());
    };
    extend(*m_refine.specialist, m_refine.windows[d]);
    extend(*m_reference, m_referenceWindows[d]);
    if (int(m_refine.windows[d].size()) >= want && int(m_referenceWindows[d].size()) >= want) ++m_refine.nextDomain;
    if (m_refine.nextDomain == m_domainCount) {
      emitRound();
      if (!m_refine.active) return;
      m_refine.target = std::min(2 * m_refine.target, m_refineWindows.load());
      m_refine.nextDomain = 0;
    }
  } catch (const std::exception& e) {
    m_refine.active = false;
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    return;
  }
  // Beside a training the refinement rests between slices, so that the training keeps most of
  // the cores (core_share.h); a slider move is served at once either way.
  const int rest = restAfterBackgroundWorkMs(double(timer.nsecsElapsed()) / 1e6);
  if (rest > 0)
    QTimer::singleShot(rest, this, [this, chain] { refineSlice(chain); });
  else
    QMetaObject::invokeMethod(this, [this, chain] { refineSlice(chain); }, Qt::QueuedConnection);
}

void InferenceWorker::emitRound() {
  RefinedLosses r;
  bool more = false;  // a domain has windows beyond this round's
  double worst = 0;
  for (size_t d = 0; d < m_domainCount; ++d) {
    const auto& mine = m_refine.windows[d];
    const auto e = souplab::paired_estimate(mine, m_referenceWindows[d]);
    r.windows = std::max(r.windows, e.windows);
    r.specialist.push_back(e.mine);
    r.reference.push_back(e.reference);
    r.diffSe.push_back(e.diff_se);
    r.bytes.push_back(qint64(e.windows) * m_validation->block_size());
    worst = std::isnan(e.diff_se) ? std::numeric_limits<double>::infinity() : std::max(worst, e.diff_se);
    more = more || (m_validation->windows(d) > e.windows && e.windows < m_refineWindows.load());
  }
  r.final = !more || worst <= m_tightSe.load();
  if (r.final) m_refine.active = false;
  Q_EMIT refinedLosses(m_refine.generation, r);
}

void InferenceWorker::loadBank(const QString& path) {
  QString device, precision;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    device = m_device;
    precision = m_precision;
    m_bank.reset();
  }
  m_validation.reset();
  m_quick.reset();
  m_reference.reset();
  m_referenceWindows.clear();
  m_refine.specialist.reset();  // of the previous bank
  m_refine.windows.clear();
  m_refine.active = false;
  m_domainCount = 0;
  m_target.reset();  // fitted for the previous bank's domains and context
  m_targetLabel.clear();
  try {
    auto bank = souplab::Model::load(path.toStdString(), device.toStdString(), precision.toStdString());
    const souplab::ModelFacts& facts = bank->facts();
    try {
      m_firstWindows = std::max(1, m_windows.load());
      m_validation = souplab::ValidationSet::for_model(facts, std::max(m_firstWindows, m_refineWindows.load()));
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
    m_domainCount = facts.domains.size();
    // The generic reference before announcing the bank, so that the first slider request is not
    // timed behind it.
    const std::vector<double> quickReference = setReference(bank->instantiate(bank->reference_weights()));
    QStringList domains;
    for (const auto& d : facts.domains) domains << QString::fromStdString(d);
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_bank = bank;
    }
    // Requests made for the previous bank are void; the GUI re-requests after bankLoaded.
    m_requests.dropPending();
    Q_EMIT bankLoaded(summarize(facts), domains, facts.training_mixture.values(), bank->capabilities());
    announceReference(quickReference, bankReferenceLabel());
  } catch (const std::exception& e) {
    m_validation.reset();
    m_quick.reset();
    m_domainCount = 0;
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  } catch (...) {
    m_validation.reset();
    m_quick.reset();
    m_domainCount = 0;
    Q_EMIT errorOccurred(path + QStringLiteral(": loading failed with an unknown error"));
  }
  processLatest();
}

std::vector<double> InferenceWorker::setReference(SpecialistPtr model) {
  m_reference = std::move(model);
  m_referenceWindows.clear();
  if (m_validation) m_referenceWindows = firstWindows(*m_reference, false);
  if (m_target) {
    m_targetReference = targetLoss(*m_reference);
    if (m_refine.specialist) emitTarget(m_refine.generation, *m_refine.specialist);
  }
  return m_quick ? m_reference->evaluate(*m_quick) : std::vector<double>{};
}

void InferenceWorker::announceReference(const std::vector<double>& quick, const QString& label) {
  if (!quick.empty()) Q_EMIT referenceReady(quick, label, false);
  if (!m_validation) return;
  std::vector<double> full;
  for (const auto& w : m_referenceWindows) full.push_back(mean(w));
  Q_EMIT referenceReady(full, label, true);
  // The specialist on screen is now compared with this reference: pair it from the first
  // windows again (its own per-window losses are kept).
  startRefinement(m_firstWindows);
}

QString InferenceWorker::bankReferenceLabel() const {
  return m_domainCount == 0 ? QStringLiteral("this model") : QStringLiteral("soup at uniform h");
}

void InferenceWorker::useBankReference() {
  if (!m_bank) return;
  try {
    announceReference(setReference(m_bank->instantiate(m_bank->reference_weights())), bankReferenceLabel());
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  }
}

void InferenceWorker::setTarget(const QString& path) {
  m_target.reset();
  m_targetLabel.clear();
  if (path.isEmpty() || !m_bank) {
    Q_EMIT targetLosses(m_refine.generation, QString(), 0, 0);
    return;
  }
  try {
    // 16 windows spread over the text: the fit's own sample (it takes up to 32), so the bar says
    // how well the specialist fits the text it was made for.
    const QString label = QFileInfo(path).fileName();
    m_target = souplab::ValidationSet::from_text(path.toStdString(), label.toStdString(),
                                                 m_bank->facts().config.model.block_size, 16);
    m_targetLabel = label;
    m_targetReference = m_reference ? targetLoss(*m_reference) : std::numeric_limits<double>::quiet_NaN();
    if (m_refine.specialist) emitTarget(m_refine.generation, *m_refine.specialist);
  } catch (const std::exception& e) {
    m_target.reset();
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  }
}

double InferenceWorker::targetLoss(const souplab::Specialist& model) {
  if (!m_target) return std::numeric_limits<double>::quiet_NaN();
  try {
    return model.evaluate(*m_target).at(0);
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(m_targetLabel + QStringLiteral(": ") + QString::fromStdString(e.what()));
    m_target.reset();
    return std::numeric_limits<double>::quiet_NaN();
  }
}

void InferenceWorker::emitTarget(quint64 generation, const souplab::Specialist& specialist) {
  if (!m_target) return;
  const double mine = targetLoss(specialist);
  if (m_target) Q_EMIT targetLosses(generation, m_targetLabel, mine, m_targetReference);
}

void InferenceWorker::loadReference(const QString& path) {
  if (!m_validation) {
    Q_EMIT errorOccurred(path + QStringLiteral(": cannot compare, no validation data is loaded"));
    return;
  }
  try {
    QString device, precision;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      device = m_device;
      precision = m_precision;
    }
    // In the bank's precision: the bars compare like with like.
    auto other = souplab::Model::load(path.toStdString(), device.toStdString(), precision.toStdString());
    const auto& facts = other->facts();
    QString name = QFileInfo(path).fileName();
    if (!facts.run_name.empty()) name = QString::fromStdString(facts.run_name);
    // Evaluated on the bank's windows whatever it was trained on: the pairs are window by window.
    announceReference(setReference(other->instantiate(other->reference_weights())),
                      QStringLiteral("%1 (%2)").arg(name, QString::fromUtf8(souplab::model_kind_name(facts.kind))));
  } catch (const std::exception& e) {
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
  } catch (...) {
    Q_EMIT errorOccurred(path + QStringLiteral(": loading failed with an unknown error"));
  }
}

}  // namespace souplab::gui
