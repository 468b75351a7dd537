#pragma once
// Runs one fine-tune (souplab::finetune_and_export: the specialist at h trained K steps on a
// target text, then exported and logged) off the GUI thread, as a ThreadedJob: progress(stage,
// step, steps) while it trains, then finished(...) or finetuneFailed(folder, message). Cancel
// stops the training at the next step; the model as trained so far is still exported.
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "app/glue/threaded_job.h"
#include "souplab/export.h"

namespace souplab {
class Model;
}

namespace souplab::gui {

struct FinetuneRequest {
  std::shared_ptr<const souplab::Model> model;  // the explorer's (immutable, shared across threads)
  std::vector<double> h;                        // in the model's domain order
  QString target;                               // text file or folder of text files
  QString outDir;
  int steps = 100;
  double lr = 3e-4;
  double holdout = 0.2;
  souplab::ExportFormat format = souplab::ExportFormat::kSafetensors;
  bool overwrite = false;
  QString runLogPath;  // empty = the default run log
};

struct FinetuneOutcome {
  QString dir;
  QStringList files, notes;
  double lossBefore = 0, lossAfter = 0;  // held-out target loss, nats/byte
  qint64 steps = 0;
  bool cancelled = false;
  double seconds = 0;
};

class FinetuneWorker : public ThreadedJob {
  Q_OBJECT

 public:
  explicit FinetuneWorker(QObject* parent = nullptr);
  // Starts the fine-tune on a thread of its own. False (and nothing done) if one is still running.
  bool start(const FinetuneRequest& request);

 Q_SIGNALS:
  void finished(const souplab::gui::FinetuneOutcome& outcome);
  void finetuneFailed(const QString& dir, const QString& message);
};

}  // namespace souplab::gui

Q_DECLARE_METATYPE(souplab::gui::FinetuneOutcome)
