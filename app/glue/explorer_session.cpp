#include "app/glue/explorer_session.h"

#include <QMetaObject>
#include <QTimer>
#include <algorithm>
#include <cmath>
#include <limits>

#include "app/glue/core_share.h"
#include "souplab/loss_estimate.h"

namespace souplab::gui {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> means(const PerWindow& windows) {
  std::vector<double> out;
  for (const auto& w : windows) out.push_back(meanOfWindows(w));
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return -1.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

ExplorerSession::ExplorerSession(QObject* parent) : QObject(parent), m_frame(std::make_shared<ExplorerFrame>()) {
  qRegisterMetaType<RefinedLosses>("souplab::gui::RefinedLosses");
  qRegisterMetaType<FramePtr>("souplab::gui::FramePtr");
  m_clock.start();
  // Service -> session connections are queued (the service lives on its own thread).
  InferenceWorker* service = m_service.get();
  connect(service, &InferenceWorker::bankLoaded, this, &ExplorerSession::onBankLoaded);
  connect(service, &InferenceWorker::specialistReady, this, &ExplorerSession::onSpecialist);
  connect(service, &InferenceWorker::referenceEvaluated, this, &ExplorerSession::onReference);
  connect(service, &InferenceWorker::sliceEvaluated, this, &ExplorerSession::onSlice);
  connect(service, &InferenceWorker::targetLoaded, this, &ExplorerSession::onTargetLoaded);
  connect(service, &InferenceWorker::targetEvaluated, this, &ExplorerSession::onTargetEvaluated);
  connect(service, &InferenceWorker::pathEvaluated, this, [this](const PathResult& path) {
    if (m_hasBank && path.id == m_pathRequest) Q_EMIT pathReady(path);
  });
  connect(service, &InferenceWorker::errorOccurred, this, &ExplorerSession::errorOccurred);
}

ExplorerSession::~ExplorerSession() = default;

void ExplorerSession::loadBank(const QString& path, bool keepTarget) {
  m_hasBank = false;  // answers still queued for the previous bank are dropped until bankLoaded
  m_refine = {m_refine.chain + 1};
  if (!keepTarget) m_target.reset();  // cut for the previous bank's context
  ++m_pathRequest;    // a path in flight belongs to the previous bank
  InferenceWorker* service = m_service.get();
  const LoadOptions options = m_options;
  QMetaObject::invokeMethod(service, [service, path, options] { service->loadBank(path, options); },
                            Qt::QueuedConnection);
}

void ExplorerSession::onBankLoaded(const LoadedBank& bank) {
  m_bank = bank;
  m_hasBank = true;
  m_reference = bank.reference;
  m_referenceWindows = m_reference.windows;
  m_referenceFull = means(m_referenceWindows);
  m_specialistWindows.clear();
  m_specialistFull.clear();
  // Latency is a figure of one bank (its size sets it): counted afresh.
  m_requestedAtNs.clear();
  m_latenciesMs.clear();
  m_fullLatenciesMs.clear();
  m_fullFrom = {};
  const QString targetLabel = m_target ? m_now.targetLabel : QString();  // kept by a refresh
  m_now = ExplorerFrame{};
  m_now.targetLabel = targetLabel;  // both losses NaN: evaluated with the first full-tier specialist
  m_now.referenceLabel = m_reference.label;
  // The reference alone until the first specialist is in: the chart is never blank.
  m_now.reference = m_referenceFull.empty() ? m_reference.quick : m_referenceFull;
  Q_EMIT bankLoaded(bank);  // the widget sets up its domains (and its sliders ask for the first h)
  publish(ExplorerFrame::Change::kBank);
}

quint64 ExplorerSession::requestWeights(const std::vector<double>& h) {
  if (!m_hasBank) return 0;
  // The h refined so far is no longer the one asked for.
  m_refine = {m_refine.chain + 1};
  const qint64 now = m_clock.nsecsElapsed();
  const quint64 generation = m_service->requestWeights(h);
  m_requestedAtNs[generation] = now;
  return generation;
}

void ExplorerSession::recordLatency(quint64 generation, bool precise) {
  // The first display of a request (quick or, with one tier, full) and its full-tier display, the
  // figure a user sees once the slider rests. Moves dropped by coalescing have no latency of
  // their own: what is timed is the move the user ends on.
  const qint64 now = m_clock.nsecsElapsed();
  if (auto it = m_requestedAtNs.find(generation); it != m_requestedAtNs.end()) {
    m_latenciesMs.push_back(double(now - it->second) / 1e6);
    m_fullFrom = {generation, it->second};
  }
  if (precise && m_fullFrom.first == generation) {
    m_fullLatenciesMs.push_back(double(now - m_fullFrom.second) / 1e6);
    m_fullFrom = {};
  }
  // Requests up to this one are answered or were dropped by coalescing.
  m_requestedAtNs.erase(m_requestedAtNs.begin(), m_requestedAtNs.upper_bound(generation));
  m_now.lastLatencyMs = m_latenciesMs.empty() ? -1.0 : m_latenciesMs.back();
  m_now.medianLatencyMs = median(m_latenciesMs);
  m_now.medianFullLatencyMs = median(m_fullLatenciesMs);
  m_now.latencySamples = int(m_latenciesMs.size());
}

void ExplorerSession::onSpecialist(const SpecialistResult& r) {
  if (!m_hasBank || r.h.size() != size_t(m_bank.domains.size())) return;  // for a bank since replaced
  const bool newSpecialist = r.specialist != m_now.specialist;
  m_now.generation = r.generation;
  m_now.h = r.h;
  m_now.specialist = r.specialist;
  m_now.newSpecialist = newSpecialist;
  m_now.instantiateMs = r.instantiateMs;
  m_now.evalMs = r.evalMs;
  m_now.twoTiers = m_now.twoTiers || !r.precise;
  // The target's bar and the inspection were the previous specialist's: blank until this one's
  // are in (full tier).
  if (newSpecialist) {
    m_now.targetSpecialist = kNaN;
    m_now.inspection.reset();
    m_now.mixing.reset();
  }
  if (r.inspection) m_now.inspection = r.inspection;
  if (r.mixing) m_now.mixing = r.mixing;
  recordLatency(r.generation, r.precise);
  if (!r.precise) {
    m_now.tier = ExplorerFrame::Tier::kQuick;
    m_now.losses = r.quick;
    m_now.reference = m_reference.quick;  // the same short windows
    m_now.diffSe.clear();
    publish(ExplorerFrame::Change::kSpecialist);
    return;
  }
  m_specialistWindows = r.windows;
  m_specialistFull = means(r.windows);
  showFullTier();
  publish(ExplorerFrame::Change::kSpecialist);
  evaluateTarget(false);
  startRefinement(m_bank.firstWindows);
}

void ExplorerSession::showFullTier() {
  m_now.tier = ExplorerFrame::Tier::kFull;
  m_now.losses = m_specialistFull;
  m_now.reference = m_referenceFull;
  m_now.diffSe.clear();
  m_now.refinedWindows = 0;
  m_now.refinementDone = false;
}

void ExplorerSession::useBankReference() {
  InferenceWorker* service = m_service.get();
  QMetaObject::invokeMethod(service, [service] { service->useBankReference(); }, Qt::QueuedConnection);
}

void ExplorerSession::compareWith(const QString& path) {
  InferenceWorker* service = m_service.get();
  QMetaObject::invokeMethod(service, [service, path] { service->loadReference(path); }, Qt::QueuedConnection);
}

void ExplorerSession::onReference(const ModelEvaluation& reference) {
  if (!m_hasBank) return;  // asked for before a bank load that has not finished
  m_reference = reference;
  m_referenceWindows = reference.windows;
  m_referenceFull = means(m_referenceWindows);
  m_now.referenceLabel = reference.label;
  m_now.targetReference = kNaN;
  switch (m_now.tier) {
    case ExplorerFrame::Tier::kNone:
      m_now.reference = m_referenceFull.empty() ? m_reference.quick : m_referenceFull;
      break;
    case ExplorerFrame::Tier::kQuick:
      m_now.reference = m_reference.quick;
      break;
    case ExplorerFrame::Tier::kFull:
    case ExplorerFrame::Tier::kRefined:
      // Paired from the first windows again: the specialist's full-tier bars until the
      // refinement against this reference comes in.
      showFullTier();
      break;
  }
  publish(ExplorerFrame::Change::kReference);
  if (m_now.tier == ExplorerFrame::Tier::kFull) {
    evaluateTarget(true);
    startRefinement(m_bank.firstWindows);
  }
}

void ExplorerSession::startRefinement(int windows) {
  const size_t domains = size_t(m_bank.domains.size());
  m_refine = {m_refine.chain + 1};
  m_refine.active = m_hasBank && m_reference.model && m_now.specialist && m_now.tier != ExplorerFrame::Tier::kQuick &&
                    m_specialistWindows.size() == domains && m_referenceWindows.size() == domains && domains > 0;
  m_refine.target = windows;
  if (m_refine.active) sendSlice(m_refine.chain);
}

void ExplorerSession::sendSlice(quint64 chain) {
  // A slice of at most ~kSliceTokens tokens (both models), so that a slider move waits ~75 ms at
  // most behind it at the demo size (quick_window_shape's measured rate).
  constexpr int kSliceTokens = 1024;
  const int chunk = std::max(1, kSliceTokens / (2 * std::max(1, m_bank.blockSize)));
  while (chain == m_refine.chain && m_refine.active) {
    const size_t d = m_refine.nextDomain;
    const int want = std::min(m_refine.target, m_bank.windowsPerDomain[d]);
    const int mine = int(m_specialistWindows[d].size()), theirs = int(m_referenceWindows[d].size());
    const int moreMine = std::clamp(want - mine, 0, chunk), moreTheirs = std::clamp(want - theirs, 0, chunk);
    if (moreMine > 0 || moreTheirs > 0) {
      InferenceWorker* service = m_service.get();
      QMetaObject::invokeMethod(
          service,
          [service, chain, model = m_now.specialist, ref = m_reference.model, d, mine, moreMine, theirs, moreTheirs] {
            service->evaluateSlice(chain, model, ref, d, mine, moreMine, theirs, moreTheirs);
          },
          Qt::QueuedConnection);
      return;
    }
    // This domain has the round's windows: on to the next, or the round is complete.
    if (++m_refine.nextDomain < m_specialistWindows.size()) continue;
    emitRound();
    m_refine.target = std::min(2 * m_refine.target, m_options.refineWindows);
    m_refine.nextDomain = 0;
  }
}

void ExplorerSession::onSlice(const SliceResult& slice) {
  if (slice.chain != m_refine.chain || !m_refine.active || slice.domain >= m_specialistWindows.size()) return;
  auto& mine = m_specialistWindows[slice.domain];
  auto& theirs = m_referenceWindows[slice.domain];
  mine.insert(mine.end(), slice.mine.begin(), slice.mine.end());
  theirs.insert(theirs.end(), slice.reference.begin(), slice.reference.end());
  // Beside a training the refinement rests between slices, so that the training keeps most of
  // the cores (core_share.h); a slider move is served at once either way.
  const quint64 chain = m_refine.chain;
  QTimer::singleShot(restAfterBackgroundWorkMs(slice.ms), this, [this, chain] { sendSlice(chain); });
}

void ExplorerSession::emitRound() {
  RefinedLosses r;
  bool more = false;  // a domain has windows beyond this round's
  double worst = 0;
  for (size_t d = 0; d < m_specialistWindows.size(); ++d) {
    const auto e = souplab::paired_estimate(m_specialistWindows[d], m_referenceWindows[d]);
    r.windows = std::max(r.windows, e.windows);
    r.specialist.push_back(e.mine);
    r.reference.push_back(e.reference);
    r.diffSe.push_back(e.diff_se);
    r.bytes.push_back(qint64(e.windows) * m_bank.blockSize);
    worst = std::isnan(e.diff_se) ? std::numeric_limits<double>::infinity() : std::max(worst, e.diff_se);
    more = more || (m_bank.windowsPerDomain[d] > e.windows && e.windows < m_options.refineWindows);
  }
  r.final = !more || worst <= m_tightSe;
  if (r.final) m_refine.active = false;
  m_now.tier = ExplorerFrame::Tier::kRefined;
  m_now.losses = r.specialist;
  m_now.reference = r.reference;
  m_now.diffSe = r.diffSe;
  m_now.refinedWindows = r.windows;
  const auto [fewest, most] = std::minmax_element(r.bytes.begin(), r.bytes.end());
  m_now.fewestBytes = fewest == r.bytes.end() ? 0 : *fewest;
  m_now.mostBytes = most == r.bytes.end() ? 0 : *most;
  m_now.refinementDone = r.final;
  Q_EMIT refined(m_now.generation, r);
  publish(ExplorerFrame::Change::kRefined);
}

void ExplorerSession::setTarget(const QString& path) {
  m_target.reset();
  if (path.isEmpty() || !m_hasBank) {
    m_now.targetLabel.clear();
    publish(ExplorerFrame::Change::kTarget);
    return;
  }
  InferenceWorker* service = m_service.get();
  QMetaObject::invokeMethod(service, [service, path] { service->loadTarget(path); }, Qt::QueuedConnection);
}

void ExplorerSession::onTargetLoaded(const ValidationSetPtr& target, const QString& label) {
  if (!m_hasBank) return;
  m_target = target;
  m_now.targetLabel = label;
  m_now.targetSpecialist = m_now.targetReference = kNaN;
  evaluateTarget(true);
}

void ExplorerSession::evaluateTarget(bool withReference) {
  // Full-tier specialists only: a quick one is about to be replaced. The reference's loss is
  // asked for once per reference (the answers come back in order, so the newest one wins).
  if (!m_target || !m_now.specialist || m_now.tier == ExplorerFrame::Tier::kQuick) return;
  InferenceWorker* service = m_service.get();
  const SpecialistPtr reference = withReference || std::isnan(m_now.targetReference) ? m_reference.model : nullptr;
  QMetaObject::invokeMethod(
      service,
      [service, generation = m_now.generation, target = m_target, model = m_now.specialist, reference] {
        service->evaluateTarget(generation, target, model, reference);
      },
      Qt::QueuedConnection);
}

void ExplorerSession::onTargetEvaluated(quint64 generation, double mine, double reference) {
  if (!m_target) return;
  if (!std::isnan(reference)) m_now.targetReference = reference;
  if (generation != m_now.generation) return;  // an h no longer shown
  m_now.targetSpecialist = mine;
  publish(ExplorerFrame::Change::kTarget);
}

void ExplorerSession::publish(ExplorerFrame::Change change) {
  m_now.change = change;
  // The specialist against the reference on h's mixture, from the bars on screen.
  const std::vector<double>& h = m_now.h;
  m_now.hasMixture = !h.empty() && m_now.losses.size() == h.size() && m_now.reference.size() == h.size();
  m_now.mixtureSpecialist = m_now.mixtureReference = m_now.mixtureChange = 0;
  m_now.mixtureChangeSe = kNaN;
  if (m_now.hasMixture) {
    for (size_t i = 0; i < h.size(); ++i) {
      m_now.mixtureSpecialist += h[i] * m_now.losses[i];
      m_now.mixtureReference += h[i] * m_now.reference[i];
    }
    const double theirs = m_now.mixtureReference;
    m_now.mixtureChange = theirs > 0 ? (m_now.mixtureSpecialist - theirs) / theirs : 0;
    // The domains' differences are independent estimates: their h-weighted sum has SE
    // sqrt(sum h_d^2 se_d^2) (souplab::weighted_se); unknown until a refined round.
    if (m_now.diffSe.size() == h.size() && theirs > 0) m_now.mixtureChangeSe = souplab::weighted_se(h, m_now.diffSe) / theirs;
  }
  m_frame = std::make_shared<const ExplorerFrame>(m_now);
  m_now.newSpecialist = false;  // said once, by the frame that brought it
  Q_EMIT frameChanged(m_frame);
}

quint64 ExplorerSession::requestPath(const std::vector<double>& hA, const std::vector<double>& hB, int points) {
  if (!m_hasBank) return 0;
  const quint64 id = ++m_pathRequest;
  InferenceWorker* service = m_service.get();
  QMetaObject::invokeMethod(
      service, [service, id, hA, hB, points, reference = m_reference.model] { service->evaluatePath(id, hA, hB, points, reference); },
      Qt::QueuedConnection);
  return id;
}

}  // namespace souplab::gui
