#include "app/glue/cluster_worker.h"

#include "souplab/corpus_cluster.h"

namespace souplab::gui {

ClusterWorker::ClusterWorker(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<souplab::gui::ClusterSummary>();
}

bool ClusterWorker::start(const ClusterRequest& request) {
  return launch(QStringLiteral("souplab-cluster"), [this, request](const Post& post, const std::atomic<bool>&) {
    souplab::ClusterOptions o;
    o.k = request.k;
    o.restarts = request.restarts;
    o.seed = request.seed;
    o.overwrite = request.overwrite;
    const auto r = souplab::cluster_corpus(
        request.rawDir.toStdString(), request.outDir.toStdString(), o,
        [this, &post](const std::string& stage, const std::string& message) {
          const QString m = QString::fromStdString(stage + ": " + message);
          post([this, m] { Q_EMIT progress(m, 0, 0); });
        });
    ClusterSummary sum;
    sum.outDir = QString::fromStdString(r.out_dir);
    sum.documents = r.documents;
    sum.units = r.units;
    sum.bytes = r.bytes;
    sum.seconds = r.total_s;
    sum.purity = r.purity;
    sum.inversePurity = r.inverse_purity;
    for (const auto& c : r.clusters) {
      QStringList grams;
      for (size_t i = 0; i < c.top_ngrams.size() && i < 5; ++i)
        grams << QLatin1Char('"') + QString::fromStdString(c.top_ngrams[i]) + QLatin1Char('"');
      sum.clusterLines << tr("%1: %2 documents, %3 KB — %4")
                              .arg(QString::fromStdString(c.name))
                              .arg(qulonglong(c.documents))
                              .arg(double(c.bytes) / 1e3, 0, 'f', 1)
                              .arg(grams.join(QLatin1Char(' ')));
    }
    post([this, sum] {
      markDone();
      Q_EMIT finished(sum);
    });
  });
}

}  // namespace souplab::gui
