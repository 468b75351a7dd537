#include "app/glue/threaded_job.h"

#include <QDeadlineTimer>
#include <QMetaObject>
#include <QThread>
#include <algorithm>
#include <exception>
#include <new>

#include "app/glue/core_share.h"
#include "app/glue/memory_tuning.h"

namespace souplab::gui {

ThreadedJob::ThreadedJob(QObject* parent) : QObject(parent) {}

ThreadedJob::~ThreadedJob() {
  cancel();
  wait();
}

bool ThreadedJob::wait(int msecs) {
  const QDeadlineTimer deadline =
      msecs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(msecs);
  for (QThread* t : m_threads)
    if (!t->wait(deadline)) return false;
  for (QThread* t : m_threads) delete t;
  m_threads.clear();
  return true;
}

bool ThreadedJob::launch(const QString& name, Body body) {
  if (m_running) return false;
  start(name, std::move(body));
  return true;
}

void ThreadedJob::supersede(const QString& name, Body body) {
  cancel();  // the older job may stop early; what it posts is dropped anyway
  start(name, std::move(body));
}

void ThreadedJob::start(const QString& name, Body body) {
  // Reap the threads that have ended (their posts are queued or delivered already).
  m_threads.erase(std::remove_if(m_threads.begin(), m_threads.end(),
                                 [](QThread* t) {
                                   if (!t->isFinished()) return false;
                                   delete t;
                                   return true;
                                 }),
                  m_threads.end());
  m_running = true;
  const quint64 generation = ++m_generation;
  m_cancel = std::make_shared<std::atomic<bool>>(false);
  auto flag = m_cancel;
  const bool background = m_background;
  QThread* thread = QThread::create([this, body = std::move(body), flag, generation, background] {
    const Post post = [this, generation](std::function<void()> fn) {
      QMetaObject::invokeMethod(
          this,
          [this, fn = std::move(fn), generation] {
            if (generation == m_generation) fn();
          },
          Qt::QueuedConnection);
    };
    try {
      if (background) runThisThreadInBackground();  // yields to a training and the GUI (core_share.h)
      fitThisThreadToFreeCores();  // beside a training, only the cores it left (core_share.h)
      body(post, *flag);
      returnFreedMemory();  // the job's tensors are gone: its arena's pages go back (memory_tuning.h)
    } catch (const std::bad_alloc&) {
      post([this] {
        markDone();
        Q_EMIT failed(tr("not enough memory for this job"));
      });
    } catch (const std::exception& e) {
      // libtorch errors carry a C++ backtrace after the first line; the first line is the message.
      QString message = QString::fromStdString(e.what()).section(QLatin1Char('\n'), 0, 0);
      post([this, message] {
        markDone();
        Q_EMIT failed(message);
      });
    }
  });
  thread->setObjectName(name);
  m_threads.push_back(thread);
  thread->start();
}

}  // namespace souplab::gui
