#include "app/glue/training_worker.h"

#include <QDir>
#include <QFileInfo>
#include <QMetaType>

#include <exception>
#include <new>

#include "engine/core/error.h"

#if __has_include("engine/core/demo_corpus.h")
#include "engine/core/demo_corpus.h"
#define SOUPLAB_HAVE_DEMO_CORPUS 1
#endif

namespace souplab::gui {

void registerTrainingMetaTypes() {
  qRegisterMetaType<souplab::TrainProgress>("souplab::TrainProgress");
  qRegisterMetaType<souplab::EvalResult>("souplab::EvalResult");
  qRegisterMetaType<souplab::gui::TrainingOutcome>("souplab::gui::TrainingOutcome");
}

TrainingWorker::TrainingWorker(TrainRequest request, QObject* parent)
    : QObject(parent), m_request(std::move(request)) {}

void TrainingWorker::setPaused(bool paused) {
  {
    // Set under the mutex so the waiter cannot miss the wake-up between its check and its wait.
    std::lock_guard<std::mutex> lock(m_pauseMutex);
    m_paused.store(paused);
  }
  m_pauseWake.notify_all();
}

void TrainingWorker::requestStop() {
  {
    std::lock_guard<std::mutex> lock(m_pauseMutex);
    m_stop.store(true);
  }
  m_pauseWake.notify_all();
}

bool TrainingWorker::shouldStop() {
  if (m_stop.load()) return true;
  if (!m_paused.load()) return false;
  Q_EMIT pausedChanged(true);
  {
    std::unique_lock<std::mutex> lock(m_pauseMutex);
    m_pauseWake.wait(lock, [this] { return !m_paused.load() || m_stop.load(); });
  }
  Q_EMIT pausedChanged(false);
  return m_stop.load();
}

void TrainingWorker::prepareCorpus() {
  const QString dir = QString::fromStdString(m_request.config.train.corpus_dir);
  if (!m_request.buildDemoCorpus || dir.isEmpty()) return;
  // A corpus with at least two domain folders is taken as built; build_demo_corpus is
  // expected to write to a temporary folder and rename, so a half-built corpus does not occur.
  if (QDir(dir).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size() >= 2) return;
#ifdef SOUPLAB_HAVE_DEMO_CORPUS
  Q_EMIT message(tr("Building the demo corpus in %1…").arg(dir));
  const souplab::DemoCorpusReport report = souplab::build_demo_corpus(
      dir.toStdString(), souplab::DemoCorpusOptions{},
      [this](size_t index, size_t count, const std::string& text) {
        Q_EMIT message(QStringLiteral("[%1/%2] %3").arg(index + 1).arg(count).arg(
            QString::fromStdString(text)));
      });
  for (const std::string& note : report.notes) Q_EMIT message(QString::fromStdString(note));
  Q_EMIT message(tr("Demo corpus ready: %1 domains").arg(report.kept_domains()));
#else
  throw souplab::Error(dir.toStdString() +
                       ": the demo corpus is missing and this build cannot create it");
#endif
}

void TrainingWorker::run() {
  TrainCallbacks callbacks;
  callbacks.on_progress = [this](const TrainProgress& p) { Q_EMIT progress(p); };
  callbacks.on_eval = [this](const EvalResult& r) { Q_EMIT evaluated(r); };
  callbacks.on_checkpoint = [this](const std::string& path, int64_t step) {
    Q_EMIT checkpointSaved(QString::fromStdString(path), static_cast<qint64>(step));
  };
  callbacks.on_message = [this](const std::string& text) {
    Q_EMIT message(QString::fromStdString(text));
  };
  callbacks.should_stop = [this] { return shouldStop(); };

  // Every exception ends here: none may cross into Qt's event loop or another thread.
  try {
    std::unique_ptr<Trainer> trainer;
    const std::string logPath = m_request.runLogPath.toStdString();
    if (!m_request.resumeCheckpoint.isEmpty()) {
      Q_EMIT message(tr("Resuming %1").arg(m_request.resumeCheckpoint));
      trainer = Trainer::resume(m_request.resumeCheckpoint.toStdString(), logPath, callbacks,
                                m_request.totalStepsOverride);
    } else {
      prepareCorpus();
      if (m_stop.load()) {  // stopped while the corpus was being built: nothing to save
        Q_EMIT finished(TrainingOutcome::Stopped, QString());
        return;
      }
      trainer = Trainer::start_new(m_request.config, logPath, callbacks);
    }
    QStringList domains;
    for (const std::string& d : trainer->domain_names()) domains << QString::fromStdString(d);
    Q_EMIT started(trainer->run_id(), QString::fromStdString(trainer->run_dir()), domains,
                   QString::fromStdString(trainer->device()));
    const TrainOutcome outcome = trainer->run(callbacks);
    Q_EMIT finished(outcome == TrainOutcome::kFinished ? TrainingOutcome::Finished
                                                       : TrainingOutcome::Stopped,
                    QString::fromStdString(trainer->last_checkpoint()));
  } catch (const souplab::Error& e) {
    Q_EMIT failed(QString::fromStdString(e.what()));
  } catch (const std::bad_alloc&) {
    Q_EMIT failed(tr("Out of memory: try a smaller batch, context or model"));
  } catch (const std::exception& e) {  // c10::Error derives from std::exception
    Q_EMIT failed(tr("Training failed: %1").arg(QString::fromStdString(e.what())));
  } catch (...) {
    Q_EMIT failed(tr("Training failed with an unknown error"));
  }
}

}  // namespace souplab::gui
