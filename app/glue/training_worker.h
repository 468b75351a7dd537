#pragma once
// Runs one training session (new run or resume) on a QThread and turns the engine's callbacks
// into Qt signals. Pause and stop are std::atomic flags set from the GUI thread and read by the
// engine once per step inside should_stop: they are deliberately not slots, since a queued slot
// would only run after the training loop (which owns this thread) returns.
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "engine/core/config.h"
#include "engine/nn/trainer.h"

Q_DECLARE_METATYPE(souplab::TrainProgress)
Q_DECLARE_METATYPE(souplab::EvalResult)

namespace souplab::gui {

// What to run. Either a new run from `config` or the run of `resumeCheckpoint`.
struct TrainRequest {
  RunConfig config;
  QString resumeCheckpoint;  // non-empty: resume this checkpoint instead of starting `config`
  qint64 totalStepsOverride = 0;  // resume only: new step budget (0 keeps the run's)
  QString runLogPath;        // empty: the engine's default run log
  // Quick start: build the demo corpus into config.train.corpus_dir first if it is missing.
  bool buildDemoCorpus = false;
};

enum class TrainingOutcome { Finished, Stopped };

// Must be called once before signals cross threads (queued connections copy the structs).
void registerTrainingMetaTypes();

class TrainingWorker : public QObject {
  Q_OBJECT
 public:
  explicit TrainingWorker(TrainRequest request, QObject* parent = nullptr);

  // Thread-safe. Pausing blocks the engine inside should_stop before the next step.
  void setPaused(bool paused);
  // Thread-safe. The engine saves a checkpoint and returns; also ends a pause.
  void requestStop();
  bool isPaused() const { return m_paused.load(); }
  bool isStopRequested() const { return m_stop.load(); }

 public Q_SLOTS:
  // Connect to QThread::started. Emits exactly one of finished/failed at the end.
  void run();

 Q_SIGNALS:
  void started(qint64 runId, const QString& runDir, const QStringList& domains,
               const QString& device);
  void progress(const souplab::TrainProgress& progress);
  void evaluated(const souplab::EvalResult& result);
  void checkpointSaved(const QString& path, qint64 step);
  void message(const QString& text);
  // Emitted from the training thread when it actually blocks (true) or carries on (false).
  void pausedChanged(bool paused);
  void finished(souplab::gui::TrainingOutcome outcome, const QString& lastCheckpoint);
  void failed(const QString& message);

 private:
  bool shouldStop();  // called by the engine on the training thread; blocks while paused
  void prepareCorpus();

  TrainRequest m_request;
  std::atomic<bool> m_paused{false};
  std::atomic<bool> m_stop{false};
  std::mutex m_pauseMutex;
  std::condition_variable m_pauseWake;
};

}  // namespace souplab::gui

Q_DECLARE_METATYPE(souplab::gui::TrainingOutcome)
