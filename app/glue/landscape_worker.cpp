#include "app/glue/landscape_worker.h"

#include <QElapsedTimer>

namespace souplab::gui {

LandscapeWorker::LandscapeWorker(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<LandscapeGrid>("souplab::gui::LandscapeGrid");
  runInBackground();  // nobody waits for it move by move: slider moves and a training come first
}

quint64 LandscapeWorker::start(const LandscapeRequest& request) {
  const quint64 id = ++m_requests;
  supersede(QStringLiteral("souplab-landscape"), [this, request, id](const Post& post, const std::atomic<bool>& cancel) {
    const souplab::DomainWeights base = request.model->weights(request.base);
    for (size_t i = 0; i < request.resolutions.size() && !cancel.load(); ++i) {
      QElapsedTimer timer;
      timer.start();
      LandscapeGrid grid;
      grid.request = id;
      grid.resolution = request.resolutions[i];
      grid.finest = i + 1 == request.resolutions.size();
      grid.points = souplab::loss_landscape(*request.model, base, request.corners, grid.resolution, *request.target,
                                            request.mixture, request.maxWindows);
      grid.ms = double(timer.nsecsElapsed()) / 1e6;
      post([this, grid] {
        if (grid.finest) markDone();
        Q_EMIT gridReady(grid);
      });
    }
    if (cancel.load()) post([this] { markDone(); });
  });
  return id;
}

}  // namespace souplab::gui
