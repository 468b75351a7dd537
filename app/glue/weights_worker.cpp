#include "app/glue/weights_worker.h"

#include <QFileInfo>

#include "souplab/corpus.h"
#include "souplab/error.h"
#include "souplab/target_weights.h"

namespace souplab::gui {

WeightsWorker::WeightsWorker(QObject* parent) : ThreadedJob(parent) {
  runInBackground();  // a fit beside a training takes what the training and the GUI leave
  qRegisterMetaType<souplab::DomainWeights>("souplab::DomainWeights");
}

bool WeightsWorker::start(const WeightsRequest& request) {
  return launch(QStringLiteral("souplab-weights"), [this, request](const Post& post, const std::atomic<bool>& cancel) {
    const QString name = QFileInfo(request.targetPath).fileName();
    const souplab::ModelFacts& facts = request.model->facts();
    souplab::DomainWeights h;
    QString summary;
    if (request.method == QLatin1String("histogram")) {
      post([this] { Q_EMIT progress(tr("Embedding the target and the domains…"), 0, 1); });
      souplab::CorpusOptions co;
      co.cache_dir = facts.cache_dir;
      co.min_domain_tokens = uint64_t(facts.config.model.block_size) + 1;
      if (facts.corpus_dir.empty()) throw souplab::Error(facts.path + ": no corpus is recorded for this model");
      auto cache = souplab::TokenCache::open(facts.corpus_dir, co);
      const auto r = souplab::histogram_weights(*cache, request.targetPath.toStdString());
      h = r.weights;
      summary = tr("Domain weights of %1: nearest-centroid histogram of %2 pieces")
                    .arg(name).arg(qulonglong(r.pieces));
    } else {
      souplab::FitOptions fo;
      fo.steps = request.steps;
      fo.progress = [this, &post, &cancel](int step, int steps, double loss) {
        post([this, step, steps, loss] {
          Q_EMIT progress(tr("Fitting h: step %1 of %2, loss %3").arg(step).arg(steps).arg(loss, 0, 'f', 4),
                          step, steps);
        });
        return !cancel.load();
      };
      const auto r = request.model->fit_weights(request.targetPath.toStdString(), fo);
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
