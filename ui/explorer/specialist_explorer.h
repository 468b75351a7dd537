#pragma once
// The Specialist explorer: move h on the simplex and see the specialist theta(h) appear
// (docs/DESIGN.md §1.1.1): its per-domain validation loss next to a reference, and text sampled from it.
//
// Left: DomainSliders. Right: LossChart with the instantiation / evaluation times and the
// slider-to-screen latency. Below: GenerationPanel. The GUI thread only edits h and draws: an
// InferenceWorker (latest-wins) and a GenerationWorker (restart on a new specialist) each run on
// a WorkerThread of their own.
#include <QElapsedTimer>
#include <QString>
#include <QWidget>
#include <map>
#include <utility>
#include <vector>

#include "app/glue/baseline_runs.h"
#include "app/glue/generation_worker.h"
#include "app/glue/inference_worker.h"
#include "app/glue/worker_thread.h"

class QComboBox;
class QLabel;
class QPushButton;
class QSplitter;

namespace souplab::gui {

class DomainSliders;
class GenerationPanel;
class LossChart;

class SpecialistExplorer : public QWidget {
  Q_OBJECT

 public:
  explicit SpecialistExplorer(QWidget* parent = nullptr);
  ~SpecialistExplorer() override;

  DomainSliders* domainSliders() const { return m_sliders; }
  LossChart* lossChart() const { return m_chart; }
  GenerationPanel* generationPanel() const { return m_panel; }
  InferenceWorker* inferenceWorker() const { return m_inference.get(); }
  GenerationWorker* generationWorker() const { return m_generation.get(); }

  bool hasBank() const { return m_hasBank; }
  // The h whose specialist the chart shows now (empty before the first one).
  const std::vector<double>& displayedWeights() const { return m_displayed; }
  bool displayedIsPrecise() const { return m_displayedPrecise; }
  const std::vector<double>& displayedLosses() const { return m_displayedLosses; }  // NaN: not evaluated
  const std::vector<double>& displayedReference() const { return m_displayedReference; }  // the reference's bars
  // The specialist's relative change against the reference bars on h's own mixture
  // (negative: the specialist is better); 0 until both are shown.
  double mixtureChange() const { return m_mixtureChange; }
  double mixtureChangeSe() const { return m_mixtureChangeSe; }
  // Slider-to-screen latency: from weightsChanged to the chart repainted with that h's losses.
  // -1 until measured. Moves dropped by coalescing have no latency of their own: what is timed
  // is the move the user ends on.
  double lastLatencyMs() const { return m_latenciesMs.empty() ? -1.0 : m_latenciesMs.back(); }
  double medianLatencyMs() const;
  // Slider move to the bars from the full windows (equal to the above with one tier).
  double medianPreciseLatencyMs() const;
  int latencySamples() const { return int(m_latenciesMs.size()); }

 public Q_SLOTS:
  // A checkpoint (.ckpt) or an exported specialist (folder or model.safetensors). Loads on the
  // worker thread; bankLoaded or errorOccurred follows.
  void setBank(const QString& path);
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
  void onBankLoaded(const QString& summary, const QStringList& domains,
                    const std::vector<double>& trainingMixture, const souplab::ModelCapabilities& can);
  void onWeightsChanged(const std::vector<double>& h);
  void onSpecialistReady(quint64 generation, const std::vector<double>& h,
                         const std::vector<double>& losses, double instantiateMs, double evalMs,
                         SpecialistPtr specialist, bool precise);
  void showReference(bool precise);
  void onRefined(quint64 generation, const RefinedLosses& refined);
  void onReferenceChosen(int index);
  void showReferencePath(const QString& path);  // selects (or adds) its entry in the picker
  void onError(const QString& message);
  void updateLatencyLabel();
  void updateSummary();  // the specialist vs the reference on h's mixture, and the table's loss column
  static double median(std::vector<double> values);

  DomainSliders* m_sliders = nullptr;
  LossChart* m_chart = nullptr;
  GenerationPanel* m_panel = nullptr;
  QLabel* m_facts = nullptr;
  QLabel* m_timing = nullptr;
  QLabel* m_latency = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_summary = nullptr;
  QSplitter* m_top = nullptr;  // sliders | chart
  QComboBox* m_compare = nullptr;  // the reference picker
  QPushButton* m_export = nullptr;
  QPushButton* m_finetune = nullptr;

  // Destroyed in reverse order: the generation thread stops first, then the inference one.
  WorkerThread<InferenceWorker> m_inference{QStringLiteral("souplab-inference")};
  WorkerThread<GenerationWorker> m_generation{QStringLiteral("souplab-generation")};

  bool m_hasBank = false;
  std::vector<double> m_displayed;
  std::vector<double> m_displayedLosses;  // the specialist's bars on screen, for m_displayed
  std::vector<double> m_displayedReference;  // the reference's bars on screen (same windows)
  std::vector<double> m_displayedSe;      // SE of their difference (refined rounds; else empty)
  std::vector<double> m_preciseLosses;    // the specialist's full-tier losses (first round)
  quint64 m_displayedGeneration = 0;     // the request the bars on screen answer
  double m_mixtureChange = 0;
  double m_mixtureChangeSe = 0;  // its standard error (NaN: unknown)
  bool m_displayedPrecise = false;  // the bars on screen come from the full windows
  bool m_sawQuick = false;          // this bank is evaluated in two tiers
  std::vector<double> m_referenceQuick, m_referenceFull;
  QString m_referenceLabel;
  QString m_referencePath;  // the model the bars are compared with; empty: the soup at uniform h
  QString m_bankPath;       // the bank loaded last (a new device reloads it)
  QComboBox* m_device = nullptr;  // where specialists are instantiated and evaluated
  QComboBox* m_precision = nullptr;  // what they run in: fp32, bf16, fp16
  SpecialistPtr m_specialist;
  bool m_wantText = false;      // Generate pressed and not stopped: "follow h" may restart
  quint64 m_currentRun = 0;     // generation run whose pieces are shown

  QElapsedTimer m_clock;
  std::map<quint64, qint64> m_requestedAtNs;  // request generation -> when weightsChanged fired
  std::vector<double> m_latenciesMs;
  std::vector<double> m_preciseLatenciesMs;
  std::pair<quint64, qint64> m_preciseFrom{0, 0};  // request awaiting its precise display
};

}  // namespace souplab::gui
