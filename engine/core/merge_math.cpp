#include "souplab/merge_math.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "souplab/error.h"

namespace souplab {

const char* merge_method_name(MergeMethod m) {
  switch (m) {
    case MergeMethod::kLinear: return "linear";
    case MergeMethod::kTaskArithmetic: return "task_arithmetic";
    case MergeMethod::kTies: return "ties";
    case MergeMethod::kDare: return "dare";
    case MergeMethod::kDareTies: return "dare_ties";
  }
  return "?";
}

bool parse_merge_method(const std::string& name, MergeMethod* out) {
  for (MergeMethod m : {MergeMethod::kLinear, MergeMethod::kTaskArithmetic, MergeMethod::kTies,
                        MergeMethod::kDare, MergeMethod::kDareTies})
    if (name == merge_method_name(m)) {
      *out = m;
      return true;
    }
  return false;
}

bool merge_method_uses_base(MergeMethod m) { return m != MergeMethod::kLinear; }

bool merge_method_uses_density(MergeMethod m) {
  return m == MergeMethod::kTies || m == MergeMethod::kDare || m == MergeMethod::kDareTies;
}

void validate(const MergeParams& p) {
  if (!(p.density > 0 && p.density <= 1))
    throw Error("merge: density must be in (0, 1], got " + std::to_string(p.density));
  if (!std::isfinite(p.lambda)) throw Error("merge: lambda must be a finite number");
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

bool dare_keeps(uint64_t seed, uint64_t model_index, int64_t entry, double density) {
  const uint64_t key = splitmix64(seed ^ splitmix64(model_index));
  const uint64_t u = splitmix64(key + uint64_t(entry)) >> 11;
  return double(u) * 0x1.0p-53 < density;
}

void ties_trim(float* tau, int64_t n, double density) {
  if (density >= 1 || n == 0) return;
  const int64_t k = std::max<int64_t>(1, int64_t(std::floor(density * double(n))));
  if (k >= n) return;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // Larger magnitude first; equal magnitudes by index, so the trim is deterministic.
  std::nth_element(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    const float ma = std::fabs(tau[a]), mb = std::fabs(tau[b]);
    return ma != mb ? ma > mb : a < b;
  });
  for (int64_t i = k; i < n; ++i) tau[order[size_t(i)]] = 0.f;
}

namespace {

// The task vectors of one tensor, sparsified as the method says, times their weights:
// wd[i * n + j] = w_i * tau_i'[j].
std::vector<double> weighted_deltas(const ParamEntry& e, const std::vector<const float*>& models,
                                    const std::vector<double>& w, const float* base,
                                    const MergeParams& p) {
  const int64_t n = e.numel;
  std::vector<double> wd(models.size() * static_cast<size_t>(n));
  std::vector<float> tau(static_cast<size_t>(n));
  for (size_t i = 0; i < models.size(); ++i) {
    const float* x = models[i] + e.offset;
    const float* b = base + e.offset;
    for (int64_t j = 0; j < n; ++j) tau[size_t(j)] = x[j] - b[j];
    if (p.method == MergeMethod::kTies) ties_trim(tau.data(), n, p.density);
    const bool dare = p.method == MergeMethod::kDare || p.method == MergeMethod::kDareTies;
    for (int64_t j = 0; j < n; ++j) {
      double t = tau[size_t(j)];
      if (dare && p.density < 1) t = dare_keeps(p.seed, i, e.offset + j, p.density) ? t / p.density : 0.0;
      wd[i * size_t(n) + size_t(j)] = w[i] * t;
    }
  }
  return wd;
}

int sign_of(double v) { return (v > 0) - (v < 0); }

}  // namespace

std::vector<float> merge_thetas(const ParamLayout& layout, const std::vector<const float*>& models,
                                const std::vector<double>& weights, const float* base,
                                const MergeParams& p) {
  validate(p);
  if (models.empty()) throw Error("merge: no models to merge");
  if (weights.size() != models.size())
    throw Error("merge: " + std::to_string(weights.size()) + " weights for " +
                std::to_string(models.size()) + " models");
  for (double w : weights)
    if (!std::isfinite(w)) throw Error("merge: a model weight is not a finite number");
  std::vector<float> out(size_t(layout.total));

  if (p.method == MergeMethod::kLinear) {
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    if (std::fabs(sum) < 1e-12) throw Error("merge: linear weights sum to zero; nothing to normalise by");
    for (int64_t j = 0; j < layout.total; ++j) {
      double acc = 0;
      for (size_t i = 0; i < models.size(); ++i) acc += weights[i] * models[i][j];
      out[size_t(j)] = float(acc / sum);
    }
    return out;
  }

  if (!base) throw Error(std::string("merge: ") + merge_method_name(p.method) + " needs a base model");
  const bool elect = p.method == MergeMethod::kTies || p.method == MergeMethod::kDareTies;
  const bool normalize = p.method == MergeMethod::kTies;  // mergekit's defaults per method
  const size_t m = models.size();
  for (const ParamEntry& e : layout.entries) {
    const int64_t n = e.numel;
    const std::vector<double> wd = weighted_deltas(e, models, weights, base, p);
    for (int64_t j = 0; j < n; ++j) {
      double mixed = 0, divisor = 0;
      if (elect) {
        double total = 0;
        for (size_t i = 0; i < m; ++i) total += wd[i * size_t(n) + size_t(j)];
        const int majority = total >= 0 ? 1 : -1;  // mergekit: a zero sum elects +
        for (size_t i = 0; i < m; ++i) {
          const double v = wd[i * size_t(n) + size_t(j)];
          if (sign_of(v) != majority) continue;  // trimmed (zero) entries never agree
          mixed += v;
          divisor += weights[i];
        }
      } else {
        for (size_t i = 0; i < m; ++i) mixed += wd[i * size_t(n) + size_t(j)];
      }
      if (normalize && divisor != 0) mixed /= divisor;
      out[size_t(e.offset + j)] = float(double(base[e.offset + j]) + p.lambda * mixed);
    }
  }
  return out;
}

}  // namespace souplab
