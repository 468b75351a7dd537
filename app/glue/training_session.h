#pragma once
// One training run (new or resumed) on a thread of its own, as a ThreadedJob: the engine's
// callbacks become queued signals on the owner's thread, and the destructor stops and joins the
// run, so a window closing during training still leaves a checkpoint behind.
//
// Pause and stop are atomic flags set from the GUI thread and read by the engine once per step
// inside should_stop: they are deliberately not slots, since the training loop owns its thread.
#include <QString>
#include <QStringList>

#include <memory>

#include "app/glue/threaded_job.h"
#include "souplab/config.h"
#include "souplab/trainer.h"

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
  // Data-parallel ranks (souplab/distributed.h), run as threads of this process over loopback:
  // rank 0 drives the signals below, the others train their share of every batch. Each gets
  // cores / processes intra-op threads unless config.train.threads says otherwise.
  int processes = 1;
  bool shardBank = false;  // split S, E and their optimiser state over the ranks
  // A soup run that finishes is followed by a dense run with its budget (baseline_runs.h):
  // the comparison that says whether its specialists are worth having. TrainingMonitor does it.
  bool thenDenseBaseline = false;
};

enum class TrainingOutcome { Finished, Stopped };

class TrainingSession : public ThreadedJob {
  Q_OBJECT
 public:
  explicit TrainingSession(QObject* parent = nullptr);
  ~TrainingSession() override;  // stops the run and joins its thread

  // Starts a thread for `request`. Returns false (and does nothing) if one is still running.
  bool start(TrainRequest request);
  bool isPaused() const;
  // Pausing blocks the engine inside should_stop before its next step.
  void setPaused(bool paused);
  // Asks the engine to save a checkpoint and return (also ends a pause); does not wait.
  void stop();
  // Stops and joins the thread (msecs < 0: no limit). Returns true if the thread has ended.
  // The run's last signals are still queued afterwards; they arrive with the next events.
  bool stopAndWait(int msecs = -1);

  struct Control;  // pause and stop, shared with the training thread

 Q_SIGNALS:
  void started(qint64 runId, const QString& runDir, const QStringList& domains,
               const QString& device);
  void stepProgress(const souplab::TrainProgress& progress);
  void evaluated(const souplab::EvalResult& result);
  void checkpointSaved(const QString& path, qint64 step);
  void message(const QString& text);
  // When the training thread actually blocks (true) or carries on (false).
  void pausedChanged(bool paused);
  // Exactly one of finished and failed (ThreadedJob) ends a run.
  void finished(souplab::gui::TrainingOutcome outcome, const QString& lastCheckpoint);
  void runningChanged(bool running);

 private:
  void ended();  // on the owner's thread, with the run's finished or failed

  std::shared_ptr<Control> m_control;
};

}  // namespace souplab::gui

Q_DECLARE_METATYPE(souplab::gui::TrainingOutcome)
