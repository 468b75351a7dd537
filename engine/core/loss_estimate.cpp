#include "souplab/loss_estimate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

namespace souplab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Mean and standard error of the mean of x[0..n).
std::pair<double, double> mean_and_se(const std::vector<double>& x, size_t n) {
  if (n == 0) return {kNaN, kNaN};
  double mean = 0;
  for (size_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  if (n < 2) return {mean, kNaN};
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  return {mean, std::sqrt(ss / double(n - 1) / double(n))};
}

}  // namespace

PairedEstimate paired_estimate(const std::vector<double>& mine, const std::vector<double>& reference) {
  const size_t n = std::min(mine.size(), reference.size());
  std::vector<double> diff(n);
  for (size_t i = 0; i < n; ++i) diff[i] = mine[i] - reference[i];
  PairedEstimate e;
  e.windows = int(n);
  std::tie(e.mine, e.mine_se) = mean_and_se(mine, n);
  e.reference = mean_and_se(reference, n).first;
  std::tie(e.diff, e.diff_se) = mean_and_se(diff, n);
  return e;
}

double weighted_se(const std::vector<double>& weights, const std::vector<double>& se) {
  double var = 0;
  for (size_t d = 0; d < weights.size() && d < se.size(); ++d)
    if (weights[d] != 0) var += weights[d] * weights[d] * se[d] * se[d];  // NaN propagates
  return std::sqrt(var);
}

}  // namespace souplab
