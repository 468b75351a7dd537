#pragma once
// The GUI-side owner of one training thread: creates the TrainingWorker, moves it to a QThread,
// re-emits its signals on the owner's thread (queued) and stops + joins it on destruction, so a
// window closing during training still leaves a checkpoint behind.
#include <QObject>
#include <QPointer>
#include <QThread>

#include "app/glue/training_worker.h"

namespace souplab::gui {

class TrainingSession : public QObject {
  Q_OBJECT
 public:
  explicit TrainingSession(QObject* parent = nullptr);
  ~TrainingSession() override;

  // Starts a thread for `request`. Returns false (and does nothing) if one is still running.
  bool start(TrainRequest request);
  // True from start() until the worker's finished/failed has been delivered here.
  bool isRunning() const { return m_running; }
  bool isPaused() const;
  void setPaused(bool paused);
  // Asks the engine to save a checkpoint and return; does not wait.
  void stop();
  // Stops and joins the thread (msecs < 0: no limit). Returns true if the thread has ended.
  // The worker's last signals are still queued afterwards; they arrive with the next events.
  bool stopAndWait(int msecs = -1);

 Q_SIGNALS:
  void started(qint64 runId, const QString& runDir, const QStringList& domains,
               const QString& device);
  void progress(const souplab::TrainProgress& progress);
  void evaluated(const souplab::EvalResult& result);
  void checkpointSaved(const QString& path, qint64 step);
  void message(const QString& text);
  void pausedChanged(bool paused);
  void finished(souplab::gui::TrainingOutcome outcome, const QString& lastCheckpoint);
  void failed(const QString& message);
  void runningChanged(bool running);

 private:
  void onWorkerEnded();

  QThread* m_thread = nullptr;
  QPointer<TrainingWorker> m_worker;
  bool m_running = false;
};

}  // namespace souplab::gui
