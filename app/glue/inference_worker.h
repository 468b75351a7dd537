#pragma once
// The explorer's evaluation service (docs/DESIGN.md "Threads"): lives on its own thread
// (WorkerThread) and answers "instantiate h", "evaluate these models on these windows", "load
// this model"; it keeps no results. What to ask, which answer is still wanted, how the answers
// pair up and what the screen shows is the ExplorerSession's business (explorer_session.h).
//
// What it does hold is what it loaded: the bank (an immutable Model) and its validation windows
// (the full tier's, and the quick tier's shorter ones). And one rule of its own, because only the
// worker thread can apply it in time: slider moves are coalesced, latest wins (LatestRequest).
// requestWeights() stores the newest h and posts at most one wake-up; the worker serves only the
// newest h it finds, and skips the full tier while a newer one waits. A burst of 50 moves costs at
// most 2 instantiations (the first may already be running when the rest arrive).
//
// Exceptions never leave the worker thread: they become errorOccurred(message).
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "app/glue/latest_request.h"
#include "souplab/inspect.h"
#include "souplab/model.h"

namespace souplab {
class Specialist;
class ValidationSet;
struct SoupInspection;
}  // namespace souplab

namespace souplab::gui {

using SpecialistPtr = std::shared_ptr<const souplab::Specialist>;
using ValidationSetPtr = std::shared_ptr<const souplab::ValidationSet>;
using PerWindow = std::vector<std::vector<double>>;  // [domain][window] mean loss, nats/byte
// A domain's loss over its windows (every window has the same number of bytes); NaN for none.
double meanOfWindows(const std::vector<double>& windows);

// How a bank is opened: where and in what precision its specialists run, and the windows of the
// two evaluation tiers (at the demo size a full evaluation alone exceeds the 100 ms slider budget,
// so every move first gets a QUICK estimate on short windows; docs/DESIGN.md "The explorer").
struct LoadOptions {
  QString device = QStringLiteral("auto");
  QString precision = QStringLiteral("fp32");  // "fp32", "bf16", "fp16" (Model::load's; the bank stays float32)
  int fullWindows = 2;     // full tier: windows per domain of the model's context
  int refineWindows = 32;  // windows per domain kept for refinement (no more than this is ever asked)
  int quickBlock = 64;     // quick tier: tokens per window; 0, or >= the context: one tier only
  int quickWindows = 2;    // quick tier: windows per domain (fewer for many domains)
};

// One model evaluated on the explorer's windows: what a reference needs to be paired with.
struct ModelEvaluation {
  SpecialistPtr model;
  QString label;                // how the chart names it
  std::vector<double> quick;    // quick tier, per domain; empty with one tier
  PerWindow windows;            // full tier's first windows; empty without validation data
};

// A path between two specialists (souplab/inspect.h loss_path) on the quick tier's windows (the
// full tier's first windows with one tier), and the reference's level on the same windows.
struct PathResult {
  quint64 id = 0;                            // the session's request it answers
  std::vector<souplab::PathPoint> points;    // t = 0 (h_A) .. 1 (h_B)
  std::vector<double> reference;             // the reference's per-domain loss (empty: none given)
  QString windows;                           // what the losses rest on, for the caption
  double ms = 0;
  QString error;                             // why there are no points (empty: none)
};

// What a loaded bank offers the session.
struct LoadedBank {
  QString summary;
  QStringList domains;
  std::vector<double> trainingMixture;
  souplab::ModelCapabilities can;
  bool hasValidation = false;
  int firstWindows = 0;              // windows per domain of the full tier
  int blockSize = 0;                 // bytes (predicted tokens) per full-tier window
  std::vector<int> windowsPerDomain;  // how many the refinement may use, per domain
  int modelBlockSize = 0;            // the model's context (a target text is cut into it)
  ModelEvaluation reference;         // the bank's own reference: the soup at uniform h
};

// One request's specialist: the quick tier (precise = false) or the full tier (precise = true).
struct SpecialistResult {
  quint64 generation = 0;
  std::vector<double> h;          // as requested, bit for bit (the GUI compares it with its sliders)
  SpecialistPtr specialist;
  bool precise = false;
  std::vector<double> quick;      // quick tier: per domain, NaN off the quick domains
  PerWindow windows;              // full tier: per domain, per window; empty without validation data
  // Full tier of a soup bank: alpha(h) and the specialist's distances (souplab/inspect.h).
  std::shared_ptr<const souplab::SoupInspection> inspection;
  // Full tier of any other model that mixes parts (souplab/inspect.h MixingRole).
  std::shared_ptr<const souplab::MixingRole> mixing;
  double instantiateMs = 0;
  double evalMs = 0;
};

// Both models on more windows of one domain (a refinement slice).
struct SliceResult {
  quint64 chain = 0;  // the session's refinement it belongs to
  size_t domain = 0;
  std::vector<double> mine, reference;  // the windows asked for, in order
  double ms = 0;
};

class InferenceWorker : public QObject {
  Q_OBJECT

 public:
  explicit InferenceWorker(QObject* parent = nullptr);
  ~InferenceWorker() override;

  // Thread-safe (the GUI thread). Returns the request's generation, echoed by specialistReady.
  quint64 requestWeights(const std::vector<double>& h);
  // Thread-safe: the domains the quick tier evaluates (the chart's page); the others' quick
  // losses are NaN until the full tier. Empty: every domain. At k = 256 the quick tier of every
  // domain is 4x the 100 ms budget (docs/BENCHMARKS.md); a page of ~60 fits it.
  void setQuickDomains(const std::vector<int>& domains);
  // Thread-safe: the model loaded last, null while loading or after a failed load. A Model is
  // immutable, so other threads may use it (the export dialog and the domain-weights fit reuse
  // it rather than reading a checkpoint that training may since have pruned).
  std::shared_ptr<const souplab::Model> bank();
  // Thread-safe: the loaded bank's validation windows (immutable; null while loading or without
  // its corpus), for work on other threads (the landscape) to evaluate on the same windows.
  ValidationSetPtr validation();
  // Instantiations done for requests (references are not counted): the coalescing tests' probe.
  quint64 instantiationCount() const { return m_instantiations.load(); }

 public Q_SLOTS:
  // All run on the worker thread (invoke them queued).
  // Opens a checkpoint or an exported specialist, its validation windows, and evaluates its
  // reference (before bankLoaded, so that the first move is not timed behind it). Requests made
  // for the previous bank are dropped.
  void loadBank(const QString& path, const souplab::gui::LoadOptions& options);
  // Another model (a dense baseline, an exported specialist) evaluated on the bank's windows,
  // in the bank's precision: referenceEvaluated.
  void loadReference(const QString& path);
  // The bank's own reference again (the soup at uniform h): referenceEvaluated.
  void useBankReference();
  // Windows [mineFrom, mineFrom + mineCount) of `domain` for `mine`, and likewise for the reference.
  void evaluateSlice(quint64 chain, const souplab::gui::SpecialistPtr& mine,
                     const souplab::gui::SpecialistPtr& reference, size_t domain, int mineFrom, int mineCount,
                     int referenceFrom, int referenceCount);
  // A target text cut into the bank's context: 16 windows spread over it (the fit's own sample,
  // it takes up to 32), so its bar says how well a specialist fits the text it was made for.
  void loadTarget(const QString& path);
  // `target`'s loss under `mine` and, when given, `reference` (NaN for one not given).
  void evaluateTarget(quint64 generation, const souplab::gui::ValidationSetPtr& target,
                      const souplab::gui::SpecialistPtr& mine, const souplab::gui::SpecialistPtr& reference);
  // The per-domain losses at `points` + 1 points from h_A to h_B, along h and along the weights
  // between the two specialists, and `reference`'s on the same windows: pathEvaluated, always
  // (with PathResult::error and no points when it cannot be done).
  void evaluatePath(quint64 id, const std::vector<double>& hA, const std::vector<double>& hB, int points,
                    const souplab::gui::SpecialistPtr& reference);

 Q_SIGNALS:
  void bankLoaded(const souplab::gui::LoadedBank& bank);
  // Once or twice per served request: the quick tier, then the full tier unless a newer request
  // came in meanwhile (only the full tier with one tier).
  void specialistReady(const souplab::gui::SpecialistResult& result);
  void referenceEvaluated(const souplab::gui::ModelEvaluation& reference);
  void sliceEvaluated(const souplab::gui::SliceResult& slice);
  void targetLoaded(const souplab::gui::ValidationSetPtr& target, const QString& label);
  void targetEvaluated(quint64 generation, double mine, double reference);
  void pathEvaluated(const souplab::gui::PathResult& path);
  void errorOccurred(const QString& message);

 private:
  void processLatest();
  ModelEvaluation evaluate(SpecialistPtr model, const QString& label);
  std::vector<double> quickLosses(const souplab::Specialist& model);
  // The full tier of `model` (empty when cancelled by a newer request).
  PerWindow firstWindows(const souplab::Specialist& model, bool cancellable) const;
  void reportFailure(const QString& what);  // inside a catch: the exception as errorOccurred

  // Worker thread, except m_bank and m_sharedValidation (written under m_mutex, for bank() and
  // validation()).
  std::shared_ptr<const souplab::Model> m_bank;
  ValidationSetPtr m_sharedValidation;
  ValidationSetPtr m_validation;  // full tier (its first m_firstWindows) and refinement
  ValidationSetPtr m_quick;       // null: one tier only
  LoadOptions m_options;          // of the bank loaded last
  int m_firstWindows = 2;
  size_t m_domainCount = 0;
  bool m_inspectable = false;  // a soup bank with experts: every full tier carries its inspection
  bool m_mixes = false;        // another model with a MixingRole: every full tier carries it

  LatestRequest<std::vector<double>> m_requests;  // the newest requested h (shared with the GUI thread)
  std::mutex m_mutex;
  std::vector<int> m_quickDomains;  // under m_mutex
  std::atomic<quint64> m_instantiations{0};
};

}  // namespace souplab::gui
Q_DECLARE_METATYPE(souplab::gui::LoadOptions)
Q_DECLARE_METATYPE(souplab::gui::LoadedBank)
Q_DECLARE_METATYPE(souplab::gui::ModelEvaluation)
Q_DECLARE_METATYPE(souplab::gui::SpecialistResult)
Q_DECLARE_METATYPE(souplab::gui::SliceResult)
Q_DECLARE_METATYPE(souplab::gui::PathResult)
