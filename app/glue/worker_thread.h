#pragma once
// Background work that does not end: a long-lived worker QObject on a thread of its own with an
// event loop, fed a stream of requests of which only the newest matters (slider moves, merge
// settings, generation restarts; see LatestRequest). Widgets hold a WorkerThread instead of
// making QThreads: it starts the thread with the worker on it, and on destruction quits the loop,
// joins the thread and deletes the worker once nothing runs it any more.
// One-off jobs (builds, exports, training, loaders) use ThreadedJob instead.
#include <QString>
#include <QThread>

namespace souplab::gui {

template <typename Worker>
class WorkerThread {
 public:
  explicit WorkerThread(const QString& name) : m_worker(new Worker) {
    m_thread.setObjectName(name);
    m_worker->moveToThread(&m_thread);
    m_thread.start();
  }
  ~WorkerThread() {
    m_thread.quit();
    m_thread.wait();
    delete m_worker;
  }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  Worker* get() const { return m_worker; }
  Worker* operator->() const { return m_worker; }

 private:
  QThread m_thread;
  Worker* m_worker;  // lives on m_thread; deleted after it stopped
};

}  // namespace souplab::gui
