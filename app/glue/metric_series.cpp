#include "app/glue/metric_series.h"

#include <algorithm>
#include <cmath>

namespace souplab {

std::vector<SeriesPoint> debiased_ema(const std::vector<SeriesPoint>& points, double weight) {
  if (weight <= 0) return points;
  weight = std::min(weight, 0.999999);
  std::vector<SeriesPoint> out;
  out.reserve(points.size());
  double ema = 0;
  double weightPower = 1;  // w^t, kept incrementally instead of calling pow per point
  for (const SeriesPoint& p : points) {
    if (!std::isfinite(p.y)) {  // a NaN loss must not poison every later smoothed value
      out.push_back(p);
      continue;
    }
    ema = weight * ema + (1 - weight) * p.y;
    weightPower *= weight;
    out.push_back({p.x, ema / (1 - weightPower)});
  }
  return out;
}

std::vector<SeriesPoint> decimate_min_max(const std::vector<SeriesPoint>& points, double x_min,
                                          double x_max, std::size_t buckets) {
  if (points.empty() || buckets == 0) return {};
  auto begin = std::lower_bound(points.begin(), points.end(), x_min,
                                [](const SeriesPoint& p, double x) { return p.x < x; });
  auto end = std::upper_bound(points.begin(), points.end(), x_max,
                              [](double x, const SeriesPoint& p) { return x < p.x; });
  std::vector<SeriesPoint> out;
  if (begin != points.begin()) out.push_back(*(begin - 1));
  const auto inRange = static_cast<std::size_t>(end - begin);
  if (inRange <= 2 * buckets || !(x_max > x_min)) {
    out.insert(out.end(), begin, end);
  } else {
    const double width = (x_max - x_min) / static_cast<double>(buckets);
    auto it = begin;
    while (it != end) {
      // Bucket index of this point; the bucket runs until the first point of a later bucket.
      auto bucket = std::min<std::size_t>(
          buckets - 1, static_cast<std::size_t>(std::max(0.0, (it->x - x_min) / width)));
      auto lo = it, hi = it;
      for (; it != end; ++it) {
        auto b = std::min<std::size_t>(
            buckets - 1, static_cast<std::size_t>(std::max(0.0, (it->x - x_min) / width)));
        if (b != bucket) break;
        if (it->y < lo->y) lo = it;
        if (it->y > hi->y) hi = it;
      }
      if (lo == hi) {
        out.push_back(*lo);
      } else if (lo < hi) {
        out.push_back(*lo);
        out.push_back(*hi);
      } else {
        out.push_back(*hi);
        out.push_back(*lo);
      }
    }
  }
  if (end != points.end()) out.push_back(*end);
  return out;
}

std::vector<SeriesPoint> MetricSeries::view(double smoothing, double x_min, double x_max,
                                            std::size_t buckets) const {
  // Smooth over the whole history first: smoothing only the visible part would change the
  // curve whenever the user pans.
  if (smoothing <= 0) return decimate_min_max(m_points, x_min, x_max, buckets);
  return decimate_min_max(debiased_ema(m_points, smoothing), x_min, x_max, buckets);
}

}  // namespace souplab
