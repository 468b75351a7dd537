#pragma once
// One background job at a time on a thread of its own (STYLE "Threads"): the engine call runs
// there, exceptions stop at the thread boundary and become failed(message), progress and results
// come back as queued posts on the owner's thread. Cancel is an atomic flag the engine polls,
// never a slot. The one-shot workers (clustering, domain weights, comparisons, post-hoc builds)
// derive from it and only say what runs.
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>

class QThread;

namespace souplab::gui {

// Owns one worker thread at a time; subclasses say what runs on it.
class ThreadedJob : public QObject {
  Q_OBJECT
 public:
  explicit ThreadedJob(QObject* parent = nullptr);
  ~ThreadedJob() override;  // requests cancel and waits: the thread posts back to `this`
  bool isRunning() const { return m_running; }
  void cancel() { m_cancel->store(true); }
  bool wait(int msecs = -1);

 Q_SIGNALS:
  void progress(const QString& what, int done, int total);
  void failed(const QString& message);

 protected:
  // Runs `body` on a new thread; false if a job is still running. `body` gets a poster that
  // runs a functor on the owner's thread and the cancel flag.
  using Post = std::function<void(std::function<void()>)>;
  bool launch(const QString& name, std::function<void(const Post&, const std::atomic<bool>&)> body);
  void markDone() { m_running = false; }

 private:
  QThread* m_thread = nullptr;
  bool m_running = false;
  std::shared_ptr<std::atomic<bool>> m_cancel = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace souplab::gui
