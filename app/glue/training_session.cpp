#include "app/glue/training_session.h"

namespace souplab::gui {

TrainingSession::TrainingSession(QObject* parent) : QObject(parent) {
  registerTrainingMetaTypes();
}

TrainingSession::~TrainingSession() { stopAndWait(); }

bool TrainingSession::start(TrainRequest request) {
  if (m_running) return false;
  if (m_thread) {  // the previous thread has delivered its end; make sure it has exited
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
  }
  m_thread = new QThread();  // not a child: it must outlive nothing but this session
  m_thread->setObjectName(QStringLiteral("souplab-training"));
  auto* worker = new TrainingWorker(std::move(request));
  worker->moveToThread(m_thread);
  m_worker = worker;

  connect(m_thread, &QThread::started, worker, &TrainingWorker::run);
  connect(m_thread, &QThread::finished, worker, &QObject::deleteLater);
  // Queued explicitly: the worker emits from the training thread, these run on ours.
  const auto q = Qt::QueuedConnection;
  connect(worker, &TrainingWorker::started, this, &TrainingSession::started, q);
  connect(worker, &TrainingWorker::progress, this, &TrainingSession::progress, q);
  connect(worker, &TrainingWorker::evaluated, this, &TrainingSession::evaluated, q);
  connect(worker, &TrainingWorker::checkpointSaved, this, &TrainingSession::checkpointSaved, q);
  connect(worker, &TrainingWorker::message, this, &TrainingSession::message, q);
  connect(worker, &TrainingWorker::pausedChanged, this, &TrainingSession::pausedChanged, q);
  connect(
      worker, &TrainingWorker::finished, this,
      [this](TrainingOutcome outcome, const QString& checkpoint) {
        onWorkerEnded();
        Q_EMIT finished(outcome, checkpoint);
      },
      q);
  connect(
      worker, &TrainingWorker::failed, this,
      [this](const QString& text) {
        onWorkerEnded();
        Q_EMIT failed(text);
      },
      q);
  // run() returns right after emitting finished/failed: end the thread's event loop then.
  connect(worker, &TrainingWorker::finished, m_thread, &QThread::quit, Qt::DirectConnection);
  connect(worker, &TrainingWorker::failed, m_thread, &QThread::quit, Qt::DirectConnection);

  m_running = true;
  m_thread->start();
  Q_EMIT runningChanged(true);
  return true;
}

bool TrainingSession::isPaused() const { return m_worker && m_worker->isPaused(); }

void TrainingSession::setPaused(bool paused) {
  if (m_worker) m_worker->setPaused(paused);
}

void TrainingSession::stop() {
  if (m_worker) m_worker->requestStop();
}

bool TrainingSession::stopAndWait(int msecs) {
  if (!m_thread) return true;
  stop();
  const bool ended = msecs < 0 ? m_thread->wait() : m_thread->wait(QDeadlineTimer(msecs));
  if (ended) {  // the worker's queued signals to us stay valid without the QThread object
    delete m_thread;
    m_thread = nullptr;
  }
  return ended;
}

void TrainingSession::onWorkerEnded() {
  m_running = false;
  Q_EMIT runningChanged(false);
}

}  // namespace souplab::gui
