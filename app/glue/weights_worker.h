#pragma once
// Estimates a target text's domain weights (docs/DESIGN.md §1.5; engine/nn/target_weights.h) off the GUI
// thread: "histogram" (nearest training-domain centroids) or "fit" (minimise the bank's loss on
// the target over h), as a ThreadedJob: progress(message, step, steps), then finished or failed.
#include <QString>
#include <QStringList>
#include <memory>

#include "app/glue/threaded_job.h"
#include "souplab/domain_weights.h"
#include "souplab/model.h"

Q_DECLARE_METATYPE(souplab::DomainWeights)

namespace souplab::gui {

struct WeightsRequest {
  QString method = QStringLiteral("fit");  // "fit" or "histogram"
  QString targetPath;                      // file or folder of text
  // The loaded model: fitted through (fit; it must be able to, ModelCapabilities), and whose
  // corpus gives the domains (histogram).
  std::shared_ptr<const souplab::Model> model;
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
  // h over the model's domains; summary: one sentence for a status line (loss or pieces).
  void finished(const souplab::DomainWeights& h, const QString& summary);
};

}  // namespace souplab::gui
