#pragma once
#include <optional>
// The training tab: start a new run or resume one, pause/resume/stop it, and watch its curves
// (train loss; per-domain validation loss of the uniform-h model and of each one-hot
// specialist), throughput, progress and ETA. Training runs on a TrainingSession's thread.
#include <QStringList>
#include <QWidget>

#include "app/glue/training_session.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;

namespace souplab::gui {

class LossPlot;

class TrainingMonitor : public QWidget {
  Q_OBJECT
 public:
  enum class State { Idle, Preparing, Running, Paused, Finished, Stopped, Failed };
  Q_ENUM(State)

  explicit TrainingMonitor(QWidget* parent = nullptr);
  ~TrainingMonitor() override;

  State state() const { return m_state; }
  bool isTraining() const { return m_session->isRunning(); }
  QString lastCheckpoint() const { return m_lastCheckpoint; }
  qint64 runId() const { return m_runId; }
  QStringList domains() const { return m_domains; }
  LossPlot* trainPlot() const { return m_trainPlot; }
  LossPlot* valPlot() const { return m_valPlot; }
  TrainingSession* session() const { return m_session; }
  void setRunLogPath(const QString& path) { m_runLogPath = path; }

  // Starts `request` (new or resume). False, with a message, if a run is still going.
  bool startRun(TrainRequest request);
  // Stops the run (checkpoint saved by the engine) and joins its thread.
  bool stopAndWait(int msecs = -1);

  // Which validation curves are drawn: 0 both, 1 uniform h only, 2 specialists only.
  void setValidationView(int index);
  void setSmoothing(double weight);

 public Q_SLOTS:
  void newRun() { newRunOn({}); }  // asks with NewRunDialog
  void newRunOn(const QString& corpusDir);  // the same, with the corpus preset (if not empty)
  void resumeRun();  // asks for a checkpoint
  void pause();
  void resume();
  void stop();
  void exportPlots();

 Q_SIGNALS:
  void openInExplorerRequested(const QString& checkpointPath);
  void runStarted(qint64 runId);
  void runEnded(qint64 runId);
  void checkpointSaved(const QString& path, qint64 step);
  void deviceChanged(const QString& device);
  void stateChanged(souplab::gui::TrainingMonitor::State state);

 private:
  void buildUi();
  QWidget* buildControls();
  void setState(State state);
  void appendLog(const QString& text);
  void onStarted(qint64 runId, const QString& runDir, const QStringList& domains,
                 const QString& device);
  void onProgress(const souplab::TrainProgress& p);
  void onEvaluated(const souplab::EvalResult& r);
  void onCheckpoint(const QString& path, qint64 step);
  void onFinished(souplab::gui::TrainingOutcome outcome, const QString& checkpoint);
  void onFailed(const QString& message);
  void ensureDomainSeries(const QStringList& domains);
  void applyValidationView();
  void loadHistory(qint64 runId);  // earlier points of a resumed run, from the run log

  TrainingSession* m_session = nullptr;
  State m_state = State::Idle;
  QString m_runLogPath;
  QString m_lastCheckpoint;
  // The dense run to start when the current soup run finishes (TrainRequest::thenDenseBaseline).
  std::optional<TrainRequest> m_baselineNext;
  qint64 m_runId = 0;
  QStringList m_domains;

  LossPlot* m_trainPlot = nullptr;
  LossPlot* m_valPlot = nullptr;
  QPushButton* m_newButton = nullptr;
  QPushButton* m_resumeRunButton = nullptr;
  QPushButton* m_pauseButton = nullptr;
  QPushButton* m_stopButton = nullptr;
  QPushButton* m_openButton = nullptr;
  QPushButton* m_exportButton = nullptr;
  QSlider* m_smoothing = nullptr;
  QLabel* m_smoothingLabel = nullptr;
  QCheckBox* m_logScale = nullptr;
  QComboBox* m_valView = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_statusLabel = nullptr;
  QLabel* m_speedLabel = nullptr;
  QLabel* m_etaLabel = nullptr;
  QPlainTextEdit* m_log = nullptr;
};

}  // namespace souplab::gui
