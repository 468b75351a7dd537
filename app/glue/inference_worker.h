#pragma once
// Instantiates specialists off the GUI thread (docs/DESIGN.md §10.3 "Threads"). Lives on its own thread
// (WorkerThread) and holds an immutable Model snapshot plus the validation windows.
//
// Slider moves are coalesced, latest wins (LatestRequest): requestWeights() stores the newest h
// and posts at most one wake-up to the worker's event loop; the worker processes only the newest
// h it finds. Intermediate moves are dropped, never queued, so a burst of 50 moves costs at most
// 2 instantiations (the first may already be running when the rest arrive).
//
// Once the full-window losses of a request are out, the worker REFINES them in the background:
// more validation windows per domain (2, 4, 8, ... up to setRefinementWindows), the reference on
// the same windows, and after each round refinedLosses() with the paired standard error of
// every domain's difference (souplab/loss_estimate.h). The work runs in slices of ~1,000 tokens
// of one domain posted to the worker's own event loop, so a slider move, a new reference or a new bank is
// served after at most one slice; a move stops the refinement of the old h. It stops when
// every domain's standard error is below setTightError, or when the windows run out.
//
// Exceptions never leave the worker thread: they become errorOccurred(message).
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "app/glue/latest_request.h"
#include "souplab/model.h"

namespace souplab {
class Specialist;
class ValidationSet;
}  // namespace souplab

namespace souplab::gui {

// One round of refinement: both models' per-domain means over the same windows, and how far
// to trust their difference.
struct RefinedLosses {
  int windows = 0;                 // windows per domain in this round (a short domain may have fewer)
  std::vector<double> specialist;  // mean loss per domain (nats/byte)
  std::vector<double> reference;   // the reference's, on the same windows
  std::vector<double> diffSe;      // standard error of specialist - reference; NaN below 2 windows
  std::vector<qint64> bytes;       // bytes (predicted tokens) each domain's pair of bars rests on
  bool final = false;              // no further round: tight enough, or every window is used
};

using SpecialistPtr = std::shared_ptr<const souplab::Specialist>;

class InferenceWorker : public QObject {
  Q_OBJECT

 public:
  explicit InferenceWorker(QObject* parent = nullptr);
  ~InferenceWorker() override;

  // Thread-safe (called from the GUI thread). Returns the request's generation number, which
  // specialistReady() echoes so the caller can time slider-to-screen latency.
  quint64 requestWeights(const std::vector<double>& h);

  // Evaluation comes in two tiers, because at the demo size a full evaluation alone exceeds the
  // 100 ms slider-to-screen budget (docs/DESIGN.md §4.1): every request gets a QUICK estimate on short
  // windows (shown at once, precise = false); when no newer request is waiting, the same
  // specialist is then evaluated on the FULL windows (precise = true). The reference is evaluated
  // on both, so bars side by side always come from the same windows.
  // Full tier: windows per domain of the model's context. Takes effect at the next loadBank().
  void setValidationWindows(int windowsPerDomain) { m_windows = windowsPerDomain; }
  // Quick tier: up to `windowsPerDomain` windows of up to `blockSize` tokens, fewer and shorter
  // for many domains (souplab::quick_window_shape's token budget). blockSize 0, or a model
  // context no longer than the window, leaves only the full tier. Takes effect at loadBank().
  void setQuickEvaluation(int blockSize, int windowsPerDomain) {
    m_quickBlock = blockSize;
    m_quickWindows = windowsPerDomain;
  }
  void setDevice(const QString& device);
  // Thread-safe: what the specialists (and the reference) run in from the next load: "fp32",
  // "bf16" or "fp16" (Model::load's precision; the bank stays float32).
  void setPrecision(const QString& precision);
  // Thread-safe: the domains the quick tier evaluates (the chart's page); the others' quick
  // losses are NaN until the full tier. Empty: every domain. At k = 256 the quick tier of every
  // domain is 4x the 100 ms budget (docs/BENCHMARKS.md); a page of ~60 fits it.
  void setQuickDomains(const std::vector<int>& domains);
  // Refinement: up to `windowsPerDomain` windows per domain (<= the full tier's: no
  // refinement); rounds stop early once every domain's paired standard error is at most
  // `tightNats`. Take effect at the next loadBank().
  void setRefinementWindows(int windowsPerDomain) { m_refineWindows = windowsPerDomain; }
  void setTightError(double tightNats) { m_tightSe = tightNats; }

  // Thread-safe: the model loaded last, null while loading or after a failed load. A Model is
  // immutable, so other threads may use it (the export dialog and the domain-weights fit reuse
  // it rather than reading a checkpoint that training may since have pruned).
  std::shared_ptr<const souplab::Model> bank();

  // Instantiations done for requests (the reference is not counted): the coalescing test's probe.
  quint64 instantiationCount() const { return m_instantiations.load(); }

 public Q_SLOTS:
  // Both run on the worker thread (invoke them queued).
  // Opens a checkpoint or an exported specialist, its validation set, and the generic reference
  // (the bank at uniform h). Pending requests from a previous bank are dropped.
  void loadBank(const QString& path);
  // Replaces the reference by another model's losses on the same validation set: a dense
  // baseline or an exported specialist ("Compare with...").
  void loadReference(const QString& path);
  // Back to the bank's own reference (the soup at uniform h) after loadReference.
  void useBankReference();
  // A target text ("Specialist for this text"): from now on every precise specialist, and the
  // reference, are also evaluated on it (targetLosses). Empty: none. A new bank clears it.
  void setTarget(const QString& path);

 Q_SIGNALS:
  // can: what the model offers (the explorer enables its actions by it).
  void bankLoaded(const QString& summary, const QStringList& domains,
                  const std::vector<double>& trainingMixture, const souplab::ModelCapabilities& can);
  void referenceReady(const std::vector<double>& losses, const QString& label, bool precise);
  // Once or twice per processed request (quick, then precise; precise only with one tier).
  // losses is empty when the validation data is unavailable (the error was reported once).
  void specialistReady(quint64 generation, const std::vector<double>& h,
                       const std::vector<double>& losses, double instantiateMs, double evalMs,
                       SpecialistPtr specialist, bool precise);
  // After the precise specialistReady of `generation`, then after every refinement round.
  void refinedLosses(quint64 generation, const souplab::gui::RefinedLosses& losses);
  // The target text's loss (nats/byte) under the specialist of `generation` and the reference,
  // on the same windows spread over the text; label names the text. Empty label: no target.
  void targetLosses(quint64 generation, const QString& label, double specialist, double reference);
  void errorOccurred(const QString& message);

 private:
  void processLatest();  // worker thread
  // The full tier of `model`: the first m_windows windows of every domain, per window (empty
  // when cancelled by a newer request).
  std::vector<std::vector<double>> firstWindows(const souplab::Specialist& model, bool cancellable) const;
  // The quick tier of `model` on the domains of setQuickDomains (NaN elsewhere).
  std::vector<double> quickLosses(const souplab::Specialist& model);
  // Makes `model` the reference: its per-window losses on the full tier kept for pairing;
  // returns its quick-tier losses. announceReference then emits both as referenceReady(label)
  // and restarts the refinement of the specialist on screen against it.
  std::vector<double> setReference(SpecialistPtr model);
  void announceReference(const std::vector<double>& quick, const QString& label);
  QString bankReferenceLabel() const;
  // Refinement from `windows` per domain; one slice (one domain) per posted call, the next one
  // posted by it; a round is emitted when every domain has its windows.
  void startRefinement(int windows);
  void refineSlice(quint64 chain);
  void emitRound();
  // The target's loss under `model` (NaN without a target or on an error, which is reported).
  double targetLoss(const souplab::Specialist& model);
  void emitTarget(quint64 generation, const souplab::Specialist& specialist);

  // Worker-thread state (m_bank is written under m_mutex, for bank()).
  SpecialistPtr m_reference;                          // what the specialist is compared with
  std::vector<std::vector<double>> m_referenceWindows;  // its per-window losses, per domain, so far
  struct Refinement {
    quint64 generation = 0;
    SpecialistPtr specialist;                  // the h displayed last (precise)
    std::vector<std::vector<double>> windows;  // its per-window losses, per domain, so far
    int target = 0;                            // windows per domain of the round under way
    size_t nextDomain = 0;
    bool active = false;
    quint64 chain = 0;  // startRefinement's count: slices posted for an earlier chain are void
  } m_refine;

  std::shared_ptr<const souplab::Model> m_bank;
  std::shared_ptr<const souplab::ValidationSet> m_validation;  // full tier (its first m_windows) and refinement
  std::shared_ptr<const souplab::ValidationSet> m_quick;       // null: one tier only
  std::shared_ptr<const souplab::ValidationSet> m_target;      // null: no target text
  QString m_targetLabel;
  double m_targetReference = 0;  // the reference's loss on the target
  size_t m_domainCount = 0;

  // Shared with the GUI thread.
  LatestRequest<std::vector<double>> m_requests;  // the newest requested h
  std::mutex m_mutex;
  QString m_device = QStringLiteral("auto");
  QString m_precision = QStringLiteral("fp32");
  std::vector<int> m_quickDomains;  // under m_mutex

  std::atomic<int> m_windows{2};
  std::atomic<int> m_refineWindows{32};
  std::atomic<double> m_tightSe{0.005};
  int m_firstWindows = 2;  // m_windows as of the last loadBank (worker thread)
  std::atomic<int> m_quickBlock{64};
  std::atomic<int> m_quickWindows{2};
  std::atomic<quint64> m_instantiations{0};
};

}  // namespace souplab::gui
Q_DECLARE_METATYPE(souplab::gui::RefinedLosses)
