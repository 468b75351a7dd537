#include "app/glue/weights_worker.h"

#include <QDeadlineTimer>
#include <QFileInfo>
#include <QMetaObject>
#include <QThread>
#include <exception>

#include "engine/core/corpus.h"
#include "engine/core/error.h"
#include "engine/nn/target_weights.h"

namespace souplab::gui {

WeightsWorker::WeightsWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
}

WeightsWorker::~WeightsWorker() {
  cancel();
  wait();
}

bool WeightsWorker::wait(int msecs) {
  if (!m_thread) return true;
  if (!m_thread->wait(msecs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(msecs)))
    return false;
  delete m_thread;
  m_thread = nullptr;
  return true;
}

bool WeightsWorker::start(const WeightsRequest& request) {
  if (m_running) return false;
  wait();
  m_running = true;
  m_cancel = false;
  m_thread = QThread::create([this, request] {
    // Runs on the estimate's thread: only copies of the request and queued posts back to `this`.
    const auto post = [this](auto&& fn) { QMetaObject::invokeMethod(this, fn, Qt::QueuedConnection); };
    const QString name = QFileInfo(request.targetPath).fileName();
    try {
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
        fo.progress = [this, post](int step, int steps, double loss) {
          post([this, step, steps, loss] {
            Q_EMIT progress(tr("Fitting h: step %1 of %2, loss %3").arg(step).arg(steps).arg(loss, 0, 'f', 4),
                            step, steps);
          });
          return !m_cancel.load();
        };
        const auto r = souplab::fit_weights(request.bankPath.toStdString(), request.targetPath.toStdString(), fo);
        if (r.cancelled) throw souplab::Error("cancelled");
        h = r.h;
        summary = tr("Domain weights of %1 fitted through the bank: loss %2 (uniform h: %3) on %4 windows")
                      .arg(name).arg(r.loss, 0, 'f', 4).arg(r.uniform_loss, 0, 'f', 4).arg(r.windows);
      }
      post([this, h, summary] {
        m_running = false;
        Q_EMIT finished(h, summary);
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
  m_thread->setObjectName(QStringLiteral("souplab-weights"));
  m_thread->start();
  return true;
}

}  // namespace souplab::gui
