#pragma once
// The domain-weight landscape (docs/DESIGN.md §8) off the GUI thread: the loss on a target over
// the 2-simplex of three domains' weights (souplab::loss_landscape), computed coarse first and
// then finer, each resolution delivered as it is done, on a job thread of its own in the
// background class (core_share.h): it yields to the slider moves, the GUI and a training, and
// a new request supersedes the one running (its grids are dropped).
#include <QString>
#include <array>
#include <memory>
#include <vector>

#include "app/glue/inference_worker.h"
#include "app/glue/threaded_job.h"
#include "souplab/inspect.h"

namespace souplab::gui {

struct LandscapeRequest {
  std::shared_ptr<const souplab::Model> model;
  std::vector<double> base;           // h whose other domains stay fixed
  std::array<size_t, 3> corners{};    // the three domains
  ValidationSetPtr target;            // the windows the loss is measured on
  std::vector<double> mixture;        // weights of target's domains (empty: their mean)
  int maxWindows = 0;                 // windows per domain (0: all of target's)
  std::vector<int> resolutions{4, 8, 16};  // grid steps per edge, coarse to fine
  QString targetLabel;                // for the caption
};

struct LandscapeGrid {
  quint64 request = 0;
  int resolution = 0;
  bool finest = false;  // the last resolution asked for
  std::vector<souplab::LandscapePoint> points;
  double ms = 0;
};

class LandscapeWorker : public ThreadedJob {
  Q_OBJECT

 public:
  explicit LandscapeWorker(QObject* parent = nullptr);
  // Starts at once, superseding a landscape still running; returns the request's number.
  quint64 start(const LandscapeRequest& request);

 Q_SIGNALS:
  void gridReady(const souplab::gui::LandscapeGrid& grid);

 private:
  quint64 m_requests = 0;
};

}  // namespace souplab::gui
Q_DECLARE_METATYPE(souplab::gui::LandscapeGrid)
