#pragma once
// The arithmetic of mergekit-style model merges on flat thetas (no torch, no I/O), so tests can
// check it against hand-computed results. Semantics follow mergekit's
// generalized_task_arithmetic.py and sparsify.py, per named tensor of the layout:
//   linear           sum_i w_i x_i / sum_i w_i                              (no base)
//   task_arithmetic  b + lambda * sum_i w_i tau_i,            tau_i = x_i - b
//   ties             trim each tau_i to its top `density` fraction by |.| (per tensor), elect the
//                    sign of sum_i w_i tau_i, then b + lambda * (sum over agreeing i of w_i tau_i)
//                    / (sum over agreeing i of w_i)          ("disjoint mean"; mergekit normalize)
//   dare             drop each entry of tau_i with probability 1 - density, scale the rest by
//                    1 / density, then b + lambda * sum_i w_i tau_i'         (mergekit dare_linear)
//   dare_ties        DARE's drop and rescale, then TIES's sign election, summing the agreeing
//                    w_i tau_i' without dividing                (mergekit dare_ties, normalize off)
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/param_layout.h"

namespace souplab {

enum class MergeMethod { kLinear, kTaskArithmetic, kTies, kDare, kDareTies };

const char* merge_method_name(MergeMethod m);  // "linear", "task_arithmetic", "ties", "dare", "dare_ties"
bool parse_merge_method(const std::string& name, MergeMethod* out);  // false if unknown
bool merge_method_uses_base(MergeMethod m);     // every method but linear works on task vectors
bool merge_method_uses_density(MergeMethod m);  // ties, dare, dare_ties

struct MergeParams {
  MergeMethod method = MergeMethod::kLinear;
  double lambda = 1.0;   // scale of the merged task vector (not used by linear)
  double density = 0.5;  // fraction of each task vector kept (ties, dare, dare_ties), in (0, 1]
  uint64_t seed = 0;     // DARE's drop mask
};

// Error naming the bad value (density outside (0, 1], lambda not finite).
void validate(const MergeParams& p);

// DARE's mask: entry `entry` (index into theta) of model `model_index` is kept. A counter-based
// hash rather than a stateful generator, so the mask depends only on (seed, model, entry): the
// same merge gives the same model whatever the order of computation, and the rule can be
// re-derived independently:
//   key = splitmix64(seed ^ splitmix64(model_index)),  u = splitmix64(key + entry) >> 11,
//   kept  <=>  u * 2^-53 < density.
bool dare_keeps(uint64_t seed, uint64_t model_index, int64_t entry, double density);
uint64_t splitmix64(uint64_t x);  // the finaliser of SplitMix64 (Steele et al.), a bijection

// TIES's trim of one tensor: keeps the k = max(1, floor(density * n)) entries of largest
// magnitude (ties broken towards the lower index), zeroes the rest. density >= 1 keeps all.
void ties_trim(float* tau, int64_t n, double density);

// Merges models (each layout.total floats, layout order) with weights w_i (one per model).
// `base` is required (non-null) by every method but linear and ignored by linear.
// Throws Error for a missing base, no models, a weight count that does not match, or linear
// weights that sum to zero.
std::vector<float> merge_thetas(const ParamLayout& layout, const std::vector<const float*>& models,
                                const std::vector<double>& weights, const float* base,
                                const MergeParams& params);

}  // namespace souplab
