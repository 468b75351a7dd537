#pragma once
// A run's cost before it starts (souplab/presets.h): size, tokens and memory at once, and its
// time from a few training steps measured on this machine (or a GPU roofline where no GPU is),
// off the GUI thread; the latest request wins.
#include <QString>

#include "app/glue/threaded_job.h"
#include "souplab/config.h"

namespace souplab::gui {

class EstimateWorker : public ThreadedJob {
  Q_OBJECT
 public:
  explicit EstimateWorker(QObject* parent = nullptr);
  // k: the corpus' domain count when known (it only sizes the small coefficient network).
  void estimate(const RunConfig& config, int k);

 Q_SIGNALS:
  void estimated(const QString& line);
};

}  // namespace souplab::gui
