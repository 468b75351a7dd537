#include "app/glue/estimate_worker.h"

#include <exception>

#include "souplab/presets.h"

namespace souplab::gui {

EstimateWorker::EstimateWorker(QObject* parent) : ThreadedJob(parent) {}

void EstimateWorker::estimate(const RunConfig& config, int k) {
  supersede(QStringLiteral("souplab-estimate"), [this, config, k](const Post& post, const std::atomic<bool>&) {
    try {
      const QString line = QString::fromStdString(describe_estimate(estimate_on_this_machine(config, k)));
      post([this, line] {
        markDone();
        Q_EMIT estimated(line);
      });
    } catch (const std::exception& e) {
      const QString message = QString::fromStdString(e.what());
      post([this, message] {
        markDone();
        Q_EMIT failed(message);
      });
    }
  });
}

}  // namespace souplab::gui
