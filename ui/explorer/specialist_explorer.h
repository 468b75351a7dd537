#pragma once
// The Specialist explorer: move h on the simplex and see the specialist theta(h) appear
// (docs/DESIGN.md §1.1.1): its per-domain validation loss next to a reference, and text sampled from it.
//
// Left: DomainSliders. Right: LossChart with the instantiation / evaluation times and the
// slider-to-screen latency. Below, in tabs: GenerationPanel, InsidePanel (alpha(h), the formula,
// the specialist's distances), PathPanel (the loss from a pinned h_A to the sliders' h) and
// LandscapePanel (the loss over three domains' weights; a click moves the sliders). The widget lays out and renders: what it shows
// is the ExplorerSession's newest frame (app/glue/explorer_session.h, which owns the rules and the
// evaluation thread); text comes from a GenerationWorker (restart on a new specialist) on a
// WorkerThread of its own.
#include <QString>
#include <QWidget>
#include <utility>
#include <vector>

#include "app/glue/baseline_runs.h"
#include "app/glue/explorer_session.h"
#include "app/glue/generation_worker.h"
#include "app/glue/worker_thread.h"

class QComboBox;
class QHBoxLayout;
class QLabel;
class QPushButton;
class QSplitter;

namespace souplab::gui {

class DomainSliders;
class GenerationPanel;
class InsidePanel;
class LandscapePanel;
class PathPanel;
class LossChart;

class SpecialistExplorer : public QWidget {
  Q_OBJECT

 public:
  explicit SpecialistExplorer(QWidget* parent = nullptr);
  ~SpecialistExplorer() override;

  DomainSliders* domainSliders() const { return m_sliders; }
  LossChart* lossChart() const { return m_chart; }
  GenerationPanel* generationPanel() const { return m_panel; }
  InsidePanel* insidePanel() const { return m_inside; }
  PathPanel* pathPanel() const { return m_path; }
  LandscapePanel* landscapePanel() const { return m_landscape; }
  ExplorerSession* session() const { return m_session; }
  GenerationWorker* generationWorker() const { return m_generation.get(); }

  bool hasBank() const { return m_session->hasBank(); }
  // What is on screen now: the frame rendered last (docs/DESIGN.md "The explorer as one session").
  const ExplorerFrame& shownFrame() const { return *m_shown; }
  // The h whose specialist the chart shows now (empty before the first one).
  const std::vector<double>& displayedWeights() const { return m_shown->h; }
  bool displayedIsPrecise() const { return m_shown->tier >= ExplorerFrame::Tier::kFull; }
  const std::vector<double>& displayedLosses() const { return m_shown->losses; }  // NaN: not evaluated
  const std::vector<double>& displayedReference() const { return m_shown->reference; }  // the reference's bars
  // The specialist's relative change against the reference bars on h's own mixture
  // (negative: the specialist is better); 0 until both are shown.
  double mixtureChange() const { return m_shown->mixtureChange; }
  double mixtureChangeSe() const { return m_shown->mixtureChangeSe; }
  // Slider-to-screen latency: from weightsChanged to the frame with that h's losses (rendered at
  // once, in the same event-loop turn; the rendering itself is timed by test_explorer_layout's
  // guiWorkPerMoveAt256). -1 until measured. Moves dropped by coalescing have no latency of their own: what is timed
  // is the move the user ends on.
  double lastLatencyMs() const { return m_shown->lastLatencyMs; }
  double medianLatencyMs() const { return m_shown->medianLatencyMs; }
  // Slider move to the bars from the full windows (equal to the above with one tier).
  double medianPreciseLatencyMs() const { return m_shown->medianFullLatencyMs; }
  int latencySamples() const { return m_shown->latencySamples; }

 public Q_SLOTS:
  // A checkpoint (.ckpt) or an exported specialist (folder or model.safetensors). Loads on the
  // worker thread; bankLoaded or errorOccurred follows.
  void setBank(const QString& path);
  // A training saved `path` at `step`: when the explorer shows that very file, it reloads it in
  // place so that every view follows the training. The sliders (h, locks, groups, undo), the
  // reference chosen, the pinned path end, the landscape's corners and target, and the target
  // text stay; the views recompute for the new weights. Any other path is ignored.
  void followCheckpoint(const QString& path, qint64 step);
  // Replaces the reference bars by another model's losses (dense baseline, exported specialist).
  void compareWith(const QString& path);
  // The dense runs the reference picker offers (after a bank loads); an equal-budget one first
  // becomes the reference at once.
  void setBaselineCandidates(const QVector<BaselineCandidate>& candidates);
  // The candidates again from the run log (after a baseline finished training).
  void refreshBaselines();
  // Starts / stops sampling from the current specialist (the panel's button does the same).
  void startGeneration();
  void stopGeneration();

 Q_SIGNALS:
  void errorOccurred(const QString& message);
  void bankLoaded(const QString& factsSummary);
  void exportRequested(const std::vector<double>& h);
  void finetuneRequested(const std::vector<double>& h);  // "Fine-tune on a text…"
  // "Train a dense baseline like this bank…": the dense run's config (the bank's budget).
  void trainBaselineRequested(const souplab::RunConfig& config);
  // After the chart was replotted for h (tests and benchmarks wait on it): once for the quick
  // estimate and once for the full windows when the bank has both tiers.
  void specialistDisplayed(const std::vector<double>& h);

 private:
  void buildLayout();
  void connectParts();
  void onBankLoaded(const LoadedBank& bank);
  void render(const FramePtr& frame);
  void renderSummary(const ExplorerFrame& f);
  void renderTimings(const ExplorerFrame& f);
  void onReferenceChosen(int index);
  void showReferencePath(const QString& path);  // selects (or adds) its entry in the picker
  void onError(const QString& message);

  DomainSliders* m_sliders = nullptr;
  LossChart* m_chart = nullptr;
  GenerationPanel* m_panel = nullptr;
  InsidePanel* m_inside = nullptr;
  PathPanel* m_path = nullptr;
  LandscapePanel* m_landscape = nullptr;
  QLabel* m_facts = nullptr;
  QLabel* m_timing = nullptr;
  QLabel* m_latency = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_summary = nullptr;
  QSplitter* m_top = nullptr;  // sliders | chart
  QHBoxLayout* m_header = nullptr;
  QComboBox* m_compare = nullptr;  // the reference picker
  QPushButton* m_export = nullptr;
  QPushButton* m_finetune = nullptr;
  QComboBox* m_device = nullptr;     // where specialists are instantiated and evaluated
  QComboBox* m_precision = nullptr;  // what they run in: fp32, bf16, fp16

  // Destroyed in reverse order: the generation thread stops first, then the session's.
  ExplorerSession* m_session;  // a child: deleted with the widget, after m_generation
  WorkerThread<GenerationWorker> m_generation{QStringLiteral("souplab-generation")};

  FramePtr m_shown;         // the frame on screen
  QString m_referencePath;  // the model the bars are compared with; empty: the soup at uniform h
  QString m_bankPath;       // the bank loaded last (a new device reloads it)
  bool m_following = false; // the load in flight is a newer checkpoint of the bank shown
  qint64 m_shownStep = -1;  // the step of the run's checkpoint shown (-1: not a run's checkpoint)
  bool m_wantText = false;  // Generate pressed and not stopped: "follow h" may restart
  quint64 m_currentRun = 0; // generation run whose pieces are shown
};

}  // namespace souplab::gui
