#pragma once
// How far a per-domain loss can be trusted (torch-free). The explorer's bars are means over a
// few validation windows; a difference between two bars means something only when it is large
// against the noise of those windows. Both models are evaluated on the SAME windows, so the
// difference is estimated per window (a paired estimate): the windows' own difficulty cancels,
// and the standard error of the difference is much smaller than either bar's.
#include <cstdint>
#include <vector>

namespace souplab {

struct PairedEstimate {
  double mine = 0;       // mean loss of the model over the windows
  double reference = 0;  // mean loss of the reference over the same windows
  double diff = 0;       // mine - reference
  // Standard errors (sample standard deviation over windows / sqrt(windows)), NaN with fewer
  // than two windows: one window says nothing about the spread.
  double mine_se = 0;
  double diff_se = 0;
  int windows = 0;
};

// mine[i] and reference[i] are the two models' mean losses on window i; only the windows both
// have are used (the shorter length). Empty input gives windows = 0 and NaNs.
PairedEstimate paired_estimate(const std::vector<double>& mine, const std::vector<double>& reference);

// The standard error of a weighted sum sum_d w_d x_d of independent per-domain estimates with
// standard errors se_d (the explorer's "on h's mixture" line). NaN when a weighted domain's is.
double weighted_se(const std::vector<double>& weights, const std::vector<double>& se);

}  // namespace souplab
