#pragma once
// One explorer session (docs/DESIGN.md "The explorer as one session"): everything the Specialist
// explorer knows between a bank load and the next, on the GUI thread, in Qt Core only. It owns the
// evaluation service (InferenceWorker, on its own thread) and the rules of what to ask it and
// which answers still count; every change becomes one immutable ExplorerFrame (frameChanged) that
// the widget renders. The rules, tested without widgets (tests/ui/test_explorer_session.cpp):
//
// - Latest wins: every slider move is a request with a generation; the service drops all but the
//   newest, and a move stops the refinement of the h before it at once.
// - Two tiers, then refinement: a request's quick bars (short windows) come first, its full-tier
//   bars next; then, while nothing newer is asked, rounds of 2, 4, 8, ... windows per domain up to
//   setRefinementWindows, one domain-slice at a time (a move waits behind one slice at most),
//   resting between slices beside a training (core_share.h), until every domain's paired standard
//   error is below setTightError or the windows run out.
// - Pairing: the reference (the soup at uniform h, or a model the user chose) is evaluated on the
//   same windows as the specialist, always; bars side by side come from the same tier. A new
//   reference is paired from the first windows again.
// - A target text: its loss under every full-tier specialist and the reference, dropped for an h
//   no longer shown; a new bank clears it.
// - A path between two specialists (requestPath): the newest request's answer only, with the
//   reference in use on the same windows; a new bank voids the ones in flight.
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "app/glue/explorer_frame.h"
#include "app/glue/inference_worker.h"
#include "app/glue/worker_thread.h"

namespace souplab::gui {

// One refinement round: both models' per-domain means over the same windows, and how far to
// trust their difference.
struct RefinedLosses {
  int windows = 0;                 // windows per domain in this round (a short domain may have fewer)
  std::vector<double> specialist;  // mean loss per domain (nats/byte)
  std::vector<double> reference;   // the reference's, on the same windows
  std::vector<double> diffSe;      // standard error of specialist - reference; NaN below 2 windows
  std::vector<qint64> bytes;       // bytes (predicted tokens) each domain's pair of bars rests on
  bool final = false;              // no further round: tight enough, or every window is used
};

class ExplorerSession : public QObject {
  Q_OBJECT

 public:
  explicit ExplorerSession(QObject* parent = nullptr);
  ~ExplorerSession() override;

  // How the next bank is opened and evaluated (take effect at the next loadBank).
  void setDevice(const QString& device) { m_options.device = device; }
  void setPrecision(const QString& precision) { m_options.precision = precision; }
  void setValidationWindows(int windowsPerDomain) { m_options.fullWindows = windowsPerDomain; }
  // Quick tier: up to `windowsPerDomain` windows of up to `blockSize` tokens, fewer and shorter
  // for many domains (souplab::quick_window_shape). blockSize 0, or a model context no longer
  // than the window, leaves only the full tier.
  void setQuickEvaluation(int blockSize, int windowsPerDomain) {
    m_options.quickBlock = blockSize;
    m_options.quickWindows = windowsPerDomain;
  }
  void setRefinementWindows(int windowsPerDomain) { m_options.refineWindows = windowsPerDomain; }
  void setTightError(double tightNats) { m_tightSe = tightNats; }  // at once
  // The domains the quick tier evaluates (the chart's page); empty: all. At once.
  void setQuickDomains(const std::vector<int>& domains) { m_service->setQuickDomains(domains); }

  bool hasBank() const { return m_hasBank; }
  const LoadedBank& loadedBank() const { return m_bank; }
  // The model loaded last (any thread may use it: a Model is immutable); null while loading.
  std::shared_ptr<const souplab::Model> bank() const { return m_service->bank(); }
  FramePtr frame() const { return m_frame; }  // the newest frame (never null)
  ValidationSetPtr target() const { return m_target; }  // the target text's windows (null: none)
  InferenceWorker* service() const { return m_service.get(); }

 public Q_SLOTS:
  // keepTarget: a newer checkpoint of the same run (same domains and context), so the target
  // text stays and is evaluated again for the new bank's specialists.
  void loadBank(const QString& path, bool keepTarget = false);
  // The h of a slider move; returns its generation (0 without a bank).
  quint64 requestWeights(const std::vector<double>& h);
  void useBankReference();
  void compareWith(const QString& path);
  void setTarget(const QString& path);  // empty: none
  // The per-domain losses from h_A to h_B (`points` steps; the service's evaluatePath), with the
  // reference in use on the same windows; returns the request's id, echoed by pathReady (0
  // without a bank). Only the newest request's answer is delivered.
  quint64 requestPath(const std::vector<double>& hA, const std::vector<double>& hB, int points);

 Q_SIGNALS:
  void bankLoaded(const souplab::gui::LoadedBank& bank);
  void frameChanged(const souplab::gui::FramePtr& frame);
  void refined(quint64 generation, const souplab::gui::RefinedLosses& round);  // also in the frame
  void pathReady(const souplab::gui::PathResult& path);
  void errorOccurred(const QString& message);

 private:
  void onBankLoaded(const LoadedBank& bank);
  void onSpecialist(const SpecialistResult& result);
  void onReference(const ModelEvaluation& reference);
  void onSlice(const SliceResult& slice);
  void onTargetLoaded(const ValidationSetPtr& target, const QString& label);
  void onTargetEvaluated(quint64 generation, double mine, double reference);

  // The bars on screen are full-tier (or refined): the specialist's first windows and the
  // reference's, without error bars.
  void showFullTier();
  void startRefinement(int windows);
  void sendSlice(quint64 chain);
  void emitRound();
  void evaluateTarget(bool withReference);
  void publish(ExplorerFrame::Change change);
  void recordLatency(quint64 generation, bool precise);

  WorkerThread<InferenceWorker> m_service{QStringLiteral("souplab-inference")};
  LoadOptions m_options;
  double m_tightSe = 0.005;
  bool m_hasBank = false;
  LoadedBank m_bank;  // its reference is the bank's own, not necessarily the one in use

  ModelEvaluation m_reference;              // what the specialist is compared with
  PerWindow m_referenceWindows;              // its per-window losses so far (grows with refinement)
  std::vector<double> m_referenceFull;       // its means over the first windows

  ExplorerFrame m_now;  // the state the next frame copies
  FramePtr m_frame;
  PerWindow m_specialistWindows;        // the full-tier specialist's per-window losses so far
  std::vector<double> m_specialistFull;  // its means over the first windows

  struct Refinement {
    quint64 chain = 0;  // bumped by every start and stop: answers for another chain are void
    bool active = false;
    int target = 0;     // windows per domain of the round under way
    size_t nextDomain = 0;
  } m_refine;

  ValidationSetPtr m_target;  // null: no target text
  quint64 m_pathRequest = 0;  // the newest path request; older answers are dropped

  QElapsedTimer m_clock;
  std::map<quint64, qint64> m_requestedAtNs;  // request generation -> when it was made
  std::vector<double> m_latenciesMs, m_fullLatenciesMs;
  std::pair<quint64, qint64> m_fullFrom{0, 0};  // request awaiting its full-tier display
};

}  // namespace souplab::gui
Q_DECLARE_METATYPE(souplab::gui::RefinedLosses)
