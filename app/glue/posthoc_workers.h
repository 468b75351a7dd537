#pragma once
// The post-hoc page's workers (STYLE "Threads"): CompareWorker evaluates several models side by
// side (compare_models) and PosthocWorker builds experts / PHATGOOSE / WEMoE, each on a thread of
// its own. Exceptions stop at the thread boundary and become failed(message); progress and
// results come back as queued signals on the owner's thread. Cancel is an atomic flag polled by
// the engine once per step (or between models), never a slot.
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>

#include "engine/nn/compare.h"

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

class CompareWorker : public ThreadedJob {
  Q_OBJECT
 public:
  using ThreadedJob::ThreadedJob;
  // models: paths, optionally PATH@H; targets: domain-weight texts.
  bool start(const QStringList& models, const QStringList& targets, int windows);

 Q_SIGNALS:
  void finished(const souplab::CompareResult& result);
};

struct PosthocRequest {
  QString method;  // "lora", "full", "phatgoose", "prototype", "arrow", "merged", "wemoe"
  QString base;    // base checkpoint (experts, wemoe)
  QString experts; // LoRA experts folder (phatgoose...) or full experts folder (wemoe)
  QString outDir;
  QString targetWeights;  // wemoe: mixture of the corpus's domains
  int steps = 200;        // expert / gate / router steps
  int rank = 16;
  double lr = 0;          // 0 = the method's default
  bool overwrite = false;
  QString runLogPath;     // empty = default
};

class PosthocWorker : public ThreadedJob {
  Q_OBJECT
 public:
  using ThreadedJob::ThreadedJob;
  bool start(const PosthocRequest& request);

 Q_SIGNALS:
  void finished(const QString& outDir, const QString& summary);
};

}  // namespace souplab::gui
