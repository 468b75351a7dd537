#pragma once
// The threads of a latest-wins loader (BankFactsLoader, ExpertLoadLoader): every load gets a
// thread of its own, stale results are dropped by the loader's generation counter, and finished
// threads are reaped when the next one starts, so ownership stays in one place.
#include <QThread>

#include <algorithm>
#include <vector>

namespace souplab::gui {

class LoaderThreads {
 public:
  LoaderThreads() = default;
  LoaderThreads(const LoaderThreads&) = delete;
  LoaderThreads& operator=(const LoaderThreads&) = delete;
  ~LoaderThreads() { joinAll(); }

  // Takes ownership of `thread` and starts it, deleting the threads that have finished.
  void start(QThread* thread) {
    m_threads.erase(std::remove_if(m_threads.begin(), m_threads.end(),
                                   [](QThread* t) {
                                     if (!t->isFinished()) return false;
                                     delete t;
                                     return true;
                                   }),
                    m_threads.end());
    m_threads.push_back(thread);
    thread->start();
  }

  // Waits for every thread and deletes it. Loaders call it first thing in their destructor:
  // the threads post back to the loader, which must outlive them.
  void joinAll() {
    for (QThread* t : m_threads) {
      t->wait();
      delete t;
    }
    m_threads.clear();
  }

 private:
  std::vector<QThread*> m_threads;
};

}  // namespace souplab::gui
