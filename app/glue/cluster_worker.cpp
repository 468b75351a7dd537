#include "app/glue/cluster_worker.h"

#include <QDeadlineTimer>
#include <QMetaObject>
#include <QThread>
#include <exception>

#include "engine/nn/corpus_cluster.h"

namespace souplab::gui {

ClusterWorker::ClusterWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<souplab::gui::ClusterSummary>();
}

ClusterWorker::~ClusterWorker() { wait(); }

bool ClusterWorker::wait(int msecs) {
  if (!m_thread) return true;
  if (!m_thread->wait(msecs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(msecs)))
    return false;
  delete m_thread;
  m_thread = nullptr;
  return true;
}

bool ClusterWorker::start(const ClusterRequest& request) {
  if (m_running) return false;
  wait();
  m_running = true;
  m_thread = QThread::create([this, request] {
    // Runs on the clustering thread: only copies of the request and queued posts back to `this`.
    const auto post = [this](auto&& fn) { QMetaObject::invokeMethod(this, fn, Qt::QueuedConnection); };
    try {
      souplab::ClusterOptions o;
      o.k = request.k;
      o.restarts = request.restarts;
      o.seed = request.seed;
      o.overwrite = request.overwrite;
      const auto r = souplab::cluster_corpus(
          request.rawDir.toStdString(), request.outDir.toStdString(), o,
          [this, post](const std::string& stage, const std::string& message) {
            const QString s = QString::fromStdString(stage), m = QString::fromStdString(message);
            post([this, s, m] { Q_EMIT progress(s, m); });
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
        m_running = false;
        Q_EMIT finished(sum);
      });
    } catch (const std::exception& e) {
      std::string m = e.what();
      if (auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);  // libtorch backtraces
      const QString message = QString::fromStdString(m);
      post([this, message] {
        m_running = false;
        Q_EMIT failed(message);
      });
    }
  });
  m_thread->setObjectName(QStringLiteral("souplab-cluster"));
  m_thread->start();
  return true;
}

}  // namespace souplab::gui
