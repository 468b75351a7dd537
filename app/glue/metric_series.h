#pragma once
// One plotted series (x = step, y = loss) and the two views the plots draw of it: a debiased
// exponential moving average (TensorBoard's smoothing) and a min/max decimation to a bounded
// number of points. Every raw point is kept; only the drawn view is reduced. Qt-free.
#include <cstddef>
#include <vector>

namespace souplab {

struct SeriesPoint {
  double x = 0;
  double y = 0;
};

// TensorBoard-style smoothing: ema_t = w*ema_{t-1} + (1-w)*y_t with ema_0 = 0, reported as
// ema_t / (1 - w^t) so that the first points are not dragged towards zero. w in [0, 1);
// w = 0 returns the input unchanged.
std::vector<SeriesPoint> debiased_ema(const std::vector<SeriesPoint>& points, double weight);

// Reduces the points whose x lies in [x_min, x_max] to at most 2 per bucket (the bucket's
// minimum and maximum y, in x order) over `buckets` equal-width buckets, so that a spike is never
// hidden by the decimation. Points are assumed sorted by x. The nearest point just outside each
// end of the range is kept too, so the curve reaches the plot's edges.
std::vector<SeriesPoint> decimate_min_max(const std::vector<SeriesPoint>& points, double x_min,
                                          double x_max, std::size_t buckets);

class MetricSeries {
 public:
  void append(double x, double y) { m_points.push_back({x, y}); }
  void clear() { m_points.clear(); }
  const std::vector<SeriesPoint>& points() const { return m_points; }
  std::size_t size() const { return m_points.size(); }
  bool empty() const { return m_points.empty(); }
  // Smoothed then decimated: what a plot of width ~`buckets` pixels needs to draw.
  std::vector<SeriesPoint> view(double smoothing, double x_min, double x_max,
                                std::size_t buckets) const;

 private:
  std::vector<SeriesPoint> m_points;
};

}  // namespace souplab
