#include "app/glue/training_session.h"

#include <QDir>
#include <QMetaType>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "app/glue/core_share.h"
#include "souplab/demo_corpus.h"
#include "souplab/distributed.h"
#include "souplab/error.h"

namespace souplab::gui {

struct TrainingSession::Control {
  std::atomic<bool> paused{false};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable wake;

  void set(std::atomic<bool>& flag, bool value) {
    {
      // Set under the mutex so the waiter cannot miss the wake-up between its check and its wait.
      std::lock_guard<std::mutex> lock(mutex);
      flag.store(value);
    }
    wake.notify_all();
  }
  // A training thread's callbacks (every rank's): a pause is agreed by the ranks before they
  // wait it out (TrainCallbacks::pause_requested), so should_stop never blocks.
  // on_pause(true/false) is told when this thread starts and stops waiting.
  void connect(TrainCallbacks& cb, std::function<void(bool)> on_pause) {
    cb.should_stop = [this] { return stop.load(); };
    cb.pause_requested = [this] { return paused.load(); };
    cb.wait_while_paused = [this, on_pause = std::move(on_pause)] {
      if (!paused.load() || stop.load()) return;
      on_pause(true);
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] { return !paused.load() || stop.load(); });
      }
      on_pause(false);
    };
  }
};

namespace {

// Quick start: a corpus with at least two domain folders is taken as built (the demo corpus is
// written to a temporary folder and renamed, so a half-built one does not occur).
void prepare_corpus(const TrainRequest& request, const std::function<void(const QString&)>& say) {
  const QString dir = QString::fromStdString(request.config.train.corpus_dir);
  if (!request.buildDemoCorpus || dir.isEmpty()) return;
  if (QDir(dir).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size() >= 2) return;
  say(QObject::tr("Building the demo corpus in %1…").arg(dir));
  const souplab::DemoCorpusReport report = souplab::build_demo_corpus(
      dir.toStdString(), souplab::DemoCorpusOptions{},
      [&](size_t index, size_t count, const std::string& text) {
        say(QStringLiteral("[%1/%2] %3").arg(index + 1).arg(count).arg(QString::fromStdString(text)));
      });
  for (const std::string& note : report.notes) say(QString::fromStdString(note));
  say(QObject::tr("Demo corpus ready: %1 domains").arg(report.kept_domains()));
}

// Ranks 1..W-1 of a local job on threads of their own; rank 0 is the session's thread. They
// pause and stop with rank 0 (the same Control, read before every step's collectives), and
// their errors are kept for rank 0's report, which only sees that a peer went away.
class PeerRanks {
 public:
  PeerRanks(const TrainRequest& request, const DistributedOptions& job,
            const std::shared_ptr<TrainingSession::Control>& control)
      : m_errors(size_t(job.world_size)) {
    for (int r = 1; r < job.world_size; ++r) {
      m_threads.emplace_back([this, request, job, r, control] {
        DistributedOptions mine = job;
        mine.rank = mine.local_rank = r;
        TrainCallbacks cb;  // rank 0 reports pauses; a peer only waits them out
        control->connect(cb, [](bool) {});
        try {
          const std::string log = request.runLogPath.toStdString();
          auto trainer = request.resumeCheckpoint.isEmpty()
                             ? Trainer::start_new(request.config, log, cb, mine)
                             : Trainer::resume(request.resumeCheckpoint.toStdString(), log, cb,
                                               request.totalStepsOverride, mine);
          trainer->run(cb);
        } catch (const std::exception& e) {
          m_errors[size_t(r)] = e.what();
        } catch (...) {  // nothing may leave a thread
          m_errors[size_t(r)] = "failed with an unknown error";
        }
      });
    }
  }
  ~PeerRanks() {
    for (auto& t : m_threads) t.join();
  }
  // "rank r: error" for every peer that failed, after they ended.
  QString errors() {
    for (auto& t : m_threads) t.join();
    m_threads.clear();
    QStringList out;
    for (size_t r = 1; r < m_errors.size(); ++r)
      if (!m_errors[r].empty()) out << QStringLiteral("rank %1: %2").arg(r).arg(QString::fromStdString(m_errors[r]));
    return out.join(QStringLiteral("; "));
  }

 private:
  std::vector<std::thread> m_threads;
  std::vector<std::string> m_errors;
};

}  // namespace

TrainingSession::TrainingSession(QObject* parent)
    : ThreadedJob(parent), m_control(std::make_shared<Control>()) {
  qRegisterMetaType<souplab::TrainProgress>("souplab::TrainProgress");
  qRegisterMetaType<souplab::EvalResult>("souplab::EvalResult");
  qRegisterMetaType<souplab::gui::TrainingOutcome>("souplab::gui::TrainingOutcome");
}

TrainingSession::~TrainingSession() { stopAndWait(); }

bool TrainingSession::start(TrainRequest request) {
  if (isRunning()) return false;
  m_control = std::make_shared<Control>();
  auto control = m_control;
  launch(QStringLiteral("souplab-training"), [this, request = std::move(request), control](
                                                 const Post& post, const std::atomic<bool>&) {
    const auto say = [this, &post](const QString& text) { post([this, text] { Q_EMIT message(text); }); };
    const auto fail = [this, &post](const QString& text) {
      post([this, text] {
        ended();
        Q_EMIT failed(text);
      });
    };
    TrainCallbacks callbacks;
    callbacks.on_progress = [this, &post](const TrainProgress& p) { post([this, p] { Q_EMIT stepProgress(p); }); };
    callbacks.on_eval = [this, &post](const EvalResult& r) { post([this, r] { Q_EMIT evaluated(r); }); };
    callbacks.on_checkpoint = [this, &post](const std::string& path, int64_t step) {
      const QString p = QString::fromStdString(path);
      post([this, p, step] { Q_EMIT checkpointSaved(p, qint64(step)); });
    };
    callbacks.on_message = [&say](const std::string& text) { say(QString::fromStdString(text)); };
    control->connect(callbacks, [this, &post](bool paused) { post([this, paused] { Q_EMIT pausedChanged(paused); }); });
    // A local job: the other ranks start now and meet rank 0 in the trainer's constructor.
    DistributedOptions job;
    std::unique_ptr<PeerRanks> peers;
    // The explorer and other jobs of this process keep off the cores this training uses.
    const int threads = request.config.train.threads;
    const TrainingCoresClaim claim(threads > 0 ? threads * std::max(1, request.processes) : 0);
    // Every exception ends here: none may cross into Qt's event loop or another thread.
    try {
      std::unique_ptr<Trainer> trainer;
      TrainRequest run = request;  // the ranks' thread count may be set below
      const std::string logPath = run.runLogPath.toStdString();
      const auto start_peers = [&](TrainRequest& r) {
        if (r.processes <= 1) return;
        const LocalJobPlan plan = plan_local_job(r.processes, r.config.train.threads);
        job.world_size = plan.ranks;
        job.master_port = plan.master_port;
        job.shard_bank = r.shardBank;
        r.config.train.threads = plan.threads_per_rank;
        say(tr("Training with %1 ranks on this machine%2").arg(r.processes).arg(r.shardBank ? tr(", the bank sharded") : QString()));
        peers = std::make_unique<PeerRanks>(r, job, control);
      };
      if (!request.resumeCheckpoint.isEmpty()) {
        say(tr("Resuming %1").arg(run.resumeCheckpoint));
        start_peers(run);
        trainer = Trainer::resume(run.resumeCheckpoint.toStdString(), logPath, callbacks,
                                  run.totalStepsOverride, job);
      } else {
        prepare_corpus(request, say);
        if (control->stop.load()) {  // stopped while the corpus was being built: nothing to save
          post([this] {
            ended();
            Q_EMIT finished(TrainingOutcome::Stopped, QString());
          });
          return;
        }
        start_peers(run);
        trainer = Trainer::start_new(run.config, logPath, callbacks, job);
      }
      QStringList domains;
      for (const std::string& d : trainer->domain_names()) domains << QString::fromStdString(d);
      const qint64 runId = trainer->run_id();
      const QString runDir = QString::fromStdString(trainer->run_dir());
      const QString device = QString::fromStdString(trainer->device());
      post([this, runId, runDir, domains, device] { Q_EMIT started(runId, runDir, domains, device); });
      const TrainOutcome outcome = trainer->run(callbacks);
      const QString checkpoint = QString::fromStdString(trainer->last_checkpoint());
      post([this, outcome, checkpoint] {
        ended();
        Q_EMIT finished(outcome == TrainOutcome::kFinished ? TrainingOutcome::Finished : TrainingOutcome::Stopped,
                        checkpoint);
      });
    } catch (const souplab::Error& e) {
      // rank 0 sees only that a peer went away; the peer's own error says why
      const QString why = peers ? peers->errors() : QString();
      fail(QString::fromStdString(e.what()) + (why.isEmpty() ? QString() : QStringLiteral(" (") + why + QStringLiteral(")")));
    } catch (const std::bad_alloc&) {
      fail(tr("Out of memory: try a smaller batch, context or model"));
    } catch (const std::exception& e) {  // c10::Error derives from std::exception
      fail(tr("Training failed: %1").arg(QString::fromStdString(e.what())));
    } catch (...) {
      fail(tr("Training failed with an unknown error"));
    }
  });
  Q_EMIT runningChanged(true);
  return true;
}

bool TrainingSession::isPaused() const { return isRunning() && m_control->paused.load(); }

void TrainingSession::setPaused(bool paused) { m_control->set(m_control->paused, paused); }

void TrainingSession::stop() { m_control->set(m_control->stop, true); }

bool TrainingSession::stopAndWait(int msecs) {
  stop();
  return wait(msecs);
}

void TrainingSession::ended() {
  markDone();
  Q_EMIT runningChanged(false);
}

}  // namespace souplab::gui
