#include "app/glue/threaded_job.h"

#include <QDeadlineTimer>
#include <QMetaObject>
#include <QThread>
#include <exception>
#include <new>

namespace souplab::gui {

ThreadedJob::ThreadedJob(QObject* parent) : QObject(parent) {}

ThreadedJob::~ThreadedJob() {
  cancel();
  wait();
}

bool ThreadedJob::wait(int msecs) {
  if (!m_thread) return true;
  if (!m_thread->wait(msecs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(msecs)))
    return false;
  delete m_thread;
  m_thread = nullptr;
  return true;
}

bool ThreadedJob::launch(const QString& name,
                         std::function<void(const Post&, const std::atomic<bool>&)> body) {
  if (m_running) return false;
  wait();
  m_running = true;
  m_cancel = std::make_shared<std::atomic<bool>>(false);
  auto flag = m_cancel;
  m_thread = QThread::create([this, body, flag] {
    const Post post = [this](std::function<void()> fn) {
      QMetaObject::invokeMethod(this, [fn] { fn(); }, Qt::QueuedConnection);
    };
    try {
      body(post, *flag);
    } catch (const std::bad_alloc&) {
      post([this] {
        markDone();
        Q_EMIT failed(tr("not enough memory for this job"));
      });
    } catch (const std::exception& e) {
      QString message = QString::fromStdString(e.what()).section(QLatin1Char('\n'), 0, 0);
      post([this, message] {
        markDone();
        Q_EMIT failed(message);
      });
    }
  });
  m_thread->setObjectName(name);
  m_thread->start();
  return true;
}

}  // namespace souplab::gui
