#include "app/glue/weights_worker.h"

#include <QFileInfo>

#include "engine/core/corpus.h"
#include "engine/core/error.h"
#include "engine/nn/target_weights.h"

namespace souplab::gui {

WeightsWorker::WeightsWorker(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
}

bool WeightsWorker::start(const WeightsRequest& request) {
  return launch(QStringLiteral("souplab-weights"), [this, request](const Post& post, const std::atomic<bool>& cancel) {
    const QString name = QFileInfo(request.targetPath).fileName();
    std::vector<double> h;
    QString summary;
    if (request.method == QLatin1String("histogram")) {
      post([this] { Q_EMIT progress(tr("Embedding the target and the domains…"), 0, 1); });
      souplab::CorpusOptions co;
      co.cache_dir = request.cacheDir.toStdString();
      co.min_domain_tokens = uint64_t(request.blockSize) + 1;
      if (request.corpusDir.isEmpty())
        throw souplab::Error(request.bankPath.toStdString() + ": no corpus is recorded for this model");
      auto cache = souplab::TokenCache::open(request.corpusDir.toStdString(), co);
      const auto r = souplab::histogram_weights(*cache, request.targetPath.toStdString());
      h = r.weights;
      summary = tr("Domain weights of %1: nearest-centroid histogram of %2 pieces")
                    .arg(name).arg(qulonglong(r.pieces));
    } else {
      souplab::FitOptions fo;
      fo.steps = request.steps;
      fo.device = request.device.toStdString();
      fo.progress = [this, &post, &cancel](int step, int steps, double loss) {
        post([this, step, steps, loss] {
          Q_EMIT progress(tr("Fitting h: step %1 of %2, loss %3").arg(step).arg(steps).arg(loss, 0, 'f', 4),
                          step, steps);
        });
        return !cancel.load();
      };
      const auto r = souplab::fit_weights(request.bankPath.toStdString(), request.targetPath.toStdString(), fo);
      if (r.cancelled) throw souplab::Error("cancelled");
      h = r.h;
      summary = tr("Domain weights of %1 fitted through the bank: loss %2 (uniform h: %3) on %4 windows")
                    .arg(name).arg(r.loss, 0, 'f', 4).arg(r.uniform_loss, 0, 'f', 4).arg(r.windows);
    }
    post([this, h, summary] {
      markDone();
      Q_EMIT finished(h, summary);
    });
  });
}

}  // namespace souplab::gui
