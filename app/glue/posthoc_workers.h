#pragma once
// The post-hoc page's workers, ThreadedJobs (docs/DESIGN.md §10.3 "Threads"): CompareWorker evaluates several
// models side by side (compare_models) and PosthocWorker builds experts / PHATGOOSE / WEMoE.
// Cancel is polled by the engine once per step (or between models).
#include <QObject>
#include <QString>
#include <QStringList>

#include "app/glue/threaded_job.h"
#include "souplab/compare.h"
#include "souplab/model_kind.h"
#include "souplab/posthoc.h"

namespace souplab::gui {

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
  // What to build: LoRA or full experts, PHATGOOSE (with `router`) over LoRA experts, or WEMoE
  // over full experts.
  souplab::ModelKind kind = souplab::ModelKind::kLoraExperts;
  souplab::Router router = souplab::Router::kPhatgoose;
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
