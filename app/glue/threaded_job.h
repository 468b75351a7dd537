#pragma once
// Background work that ends (docs/DESIGN.md §10.3 "Threads"): each job runs on a thread of its own, exceptions
// stop at the thread boundary and become failed(message), progress and results come back as
// queued posts on the owner's thread. Cancel is an atomic flag the engine polls, never a slot.
// Two ways to start one:
//   launch()     one job at a time (builds, exports, training): refused while one runs;
//   supersede()  latest wins (loaders): starts at once, cancels the older jobs and drops
//                whatever they still post.
// The workers (clustering, domain weights, comparisons, post-hoc builds, exports, training,
// the bank-facts and expert-load loaders) derive from it and only say what runs.
// Long-lived workers fed a stream of requests (slider moves) use WorkerThread instead.
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

class QThread;

namespace souplab::gui {

class ThreadedJob : public QObject {
  Q_OBJECT
 public:
  explicit ThreadedJob(QObject* parent = nullptr);
  ~ThreadedJob() override;  // requests cancel and waits: the threads post back to `this`
  // From a start until the job's end has been delivered (markDone).
  bool isRunning() const { return m_running; }
  void cancel() { m_cancel->store(true); }
  // Joins every job thread (msecs < 0: no limit); their posts arrive with the next events.
  bool wait(int msecs = -1);

 Q_SIGNALS:
  void progress(const QString& what, int done, int total);
  void failed(const QString& message);

 protected:
  // Runs a functor on the owner's thread, unless a newer job has superseded this one.
  using Post = std::function<void(std::function<void()>)>;
  using Body = std::function<void(const Post& post, const std::atomic<bool>& cancel)>;
  bool launch(const QString& name, Body body);
  void supersede(const QString& name, Body body);
  // Subclasses call it in the post that delivers the job's end.
  void markDone() { m_running = false; }
  // Jobs started from now on run in the background class (core_share.h): work a user does not
  // wait for move by move, which must not slow a training or the GUI (fits of h).
  void runInBackground() { m_background = true; }

 private:
  void start(const QString& name, Body body);

  std::vector<QThread*> m_threads;  // running or finished, reaped at the next start
  bool m_running = false;
  bool m_background = false;
  quint64 m_generation = 0;         // the newest job's; posts of older ones are dropped
  std::shared_ptr<std::atomic<bool>> m_cancel = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace souplab::gui
