#pragma once
// Estimates a target text's domain weights (DESIGN §1.5; engine/nn/target_weights.h) off the GUI
// thread: "histogram" (nearest training-domain centroids) or "fit" (minimise the bank's loss on
// the target over h), as a ThreadedJob: progress(message, step, steps), then finished or failed.
#include <QString>
#include <QStringList>
#include <vector>

#include "app/glue/threaded_job.h"

namespace souplab::gui {

struct WeightsRequest {
  QString method = QStringLiteral("fit");  // "fit" or "histogram"
  QString targetPath;                      // file or folder of text
  QString bankPath;                        // soup checkpoint (fit)
  QString corpusDir, cacheDir;             // the bank's corpus (histogram)
  int blockSize = 256;                     // the bank's context: the corpus cache's minimum domain size
  QString device = QStringLiteral("auto");
  int steps = 40;
};

class WeightsWorker : public ThreadedJob {
  Q_OBJECT

 public:
  explicit WeightsWorker(QObject* parent = nullptr);
  // False (and nothing done) if an estimate is still running. cancel() stops a fit after its
  // current step (then failed("cancelled") follows).
  bool start(const WeightsRequest& request);

 Q_SIGNALS:
  // h in the bank's domain order; summary: one sentence for a status line (loss or pieces).
  void finished(const std::vector<double>& h, const QString& summary);
};

}  // namespace souplab::gui
