#include "engine/core/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "souplab/error.h"

namespace souplab {
namespace {

// The draws below use the raw 64-bit outputs of mt19937_64 (whose sequence the C++ standard
// fixes) instead of std:: distributions (whose algorithms it leaves to the library), so a
// saved generator state replays the same batches on any standard library.

double uniform01(std::mt19937_64& rng) {  // [0, 1) with 53 random bits
  return double(rng() >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {  // [0, n), unbiased by rejection
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}

double exponential1(std::mt19937_64& rng) {  // Gamma(1, 1)
  return -std::log1p(-uniform01(rng));
}

std::vector<double> normalised(std::vector<double> w) {
  double sum = 0;
  for (double x : w) sum += x;
  if (!(sum > 0)) {  // every draw underflowed to 0: vanishingly rare, fall back to uniform mass
    for (double& x : w) x = x >= 0 ? 1.0 : 0.0;
    sum = double(w.size());
  }
  for (double& x : w) x /= sum;
  return w;
}

}  // namespace

MetaDistribution parse_meta_distribution(const std::string& name) {
  if (name == "sparse_dirichlet") return MetaDistribution::kSparseDirichlet;
  if (name == "dirichlet") return MetaDistribution::kDirichlet;
  if (name == "onehot" || name == "one_hot") return MetaDistribution::kOneHot;
  throw Error("unknown meta-distribution \"" + name +
              "\" (expected sparse_dirichlet, dirichlet or onehot)");
}

BatchSampler::BatchSampler(std::shared_ptr<const TokenCache> cache, int block_size,
                           uint64_t seed)
    : cache_(std::move(cache)), block_size_(block_size), rng_(seed) {
  if (!cache_) throw Error("BatchSampler needs a token cache");
  if (block_size_ < 1) throw Error("block_size must be >= 1, got " + std::to_string(block_size_));
  for (const DomainInfo& d : cache_->domains())
    if (d.train_tokens < uint64_t(block_size_) + 1)
      throw Error("domain \"" + d.name + "\" has " + std::to_string(d.train_tokens) +
                  " training tokens, fewer than block_size + 1 = " +
                  std::to_string(block_size_ + 1));
}

std::vector<double> BatchSampler::sample_h(MetaDistribution pi, int support_max, const std::vector<double>& prior) {
  const size_t k = cache_->num_domains();
  std::vector<double> h(k, 0.0);
  if (!prior.empty()) return sample_h_with_prior(pi, support_max, prior);
  switch (pi) {
    case MetaDistribution::kOneHot:
      h[uniform_below(rng_, k)] = 1.0;
      return h;
    case MetaDistribution::kDirichlet:
      for (double& x : h) x = exponential1(rng_);
      return normalised(h);
    case MetaDistribution::kSparseDirichlet: {
      if (support_max < 1)
        throw Error("support_max must be >= 1, got " + std::to_string(support_max));
      const size_t s_max = std::min(k, size_t(support_max));
      const size_t s = 1 + size_t(uniform_below(rng_, s_max));
      // s distinct domains: the first s places of a partial Fisher-Yates shuffle.
      std::vector<size_t> idx(k);
      for (size_t i = 0; i < k; ++i) idx[i] = i;
      for (size_t i = 0; i < s; ++i) std::swap(idx[i], idx[i + size_t(uniform_below(rng_, k - i))]);
      for (size_t i = 0; i < s; ++i) h[idx[i]] = exponential1(rng_);
      // A zero draw would shrink the support; keep every chosen domain strictly positive.
      for (size_t i = 0; i < s; ++i) h[idx[i]] = std::max(h[idx[i]], 1e-300);
      return normalised(h);
    }
  }
  throw Error("unknown meta-distribution");
}

std::vector<double> BatchSampler::sample_h_with_prior(MetaDistribution pi, int support_max,
                                                      const std::vector<double>& prior) {
  const size_t k = cache_->num_domains();
  if (prior.size() != k) throw Error("domain prior has " + std::to_string(prior.size()) + " entries for " + std::to_string(k) + " domains");
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // One index drawn in proportion to `weights` (which must not all be 0).
  auto pick = [&](const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double u = unit(rng_) * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0) continue;
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    for (size_t i = weights.size(); i-- > 0;)
      if (weights[i] > 0) return i;  // rounding left u at the very end
    throw Error("domain prior is all zero");
  };
  std::vector<double> h(k, 0.0);
  switch (pi) {
    case MetaDistribution::kOneHot:
      h[pick(prior)] = 1.0;
      return h;
    case MetaDistribution::kDirichlet:
      for (size_t i = 0; i < k; ++i) h[i] = exponential1(rng_) * prior[i];
      return normalised(h);
    case MetaDistribution::kSparseDirichlet: {
      if (support_max < 1) throw Error("support_max must be >= 1, got " + std::to_string(support_max));
      size_t nonzero = 0;
      for (double w : prior) nonzero += w > 0;
      const size_t s = 1 + size_t(uniform_below(rng_, std::min({k, size_t(support_max), nonzero})));
      std::vector<double> left = prior;  // drawn without replacement, each in proportion to its weight
      for (size_t i = 0; i < s; ++i) {
        const size_t d = pick(left);
        left[d] = 0;
        h[d] = std::max(exponential1(rng_), 1e-300);
      }
      return normalised(h);
    }
  }
  throw Error("unknown meta-distribution");
}

void BatchSampler::sample_batch(const std::vector<double>& h, int batch_size, uint8_t* tokens,
                                std::vector<int>* domains) {
  const size_t k = cache_->num_domains();
  if (h.size() != k)
    throw Error("domain weights h have " + std::to_string(h.size()) + " entries, the corpus has " +
                std::to_string(k) + " domains");
  if (batch_size < 1) throw Error("batch_size must be >= 1, got " + std::to_string(batch_size));
  std::vector<double> cumulative(k);
  double sum = 0;
  for (size_t i = 0; i < k; ++i) {
    if (!(h[i] >= 0) || !std::isfinite(h[i]))
      throw Error("domain weight h[" + std::to_string(i) + "] = " + std::to_string(h[i]) +
                  " is not a finite non-negative number");
    sum += h[i];
    cumulative[i] = sum;
  }
  if (!(sum > 0)) throw Error("domain weights h sum to 0");
  if (domains) domains->assign(size_t(batch_size), 0);

  const size_t row = size_t(block_size_) + 1;
  for (int b = 0; b < batch_size; ++b) {
    const double u = uniform01(rng_) * sum;
    size_t d = size_t(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    // Rounding can leave u at the very top, or land on a zero-weight domain's repeated bound.
    if (d >= k) d = k - 1;
    while (h[d] <= 0 && d > 0) --d;
    const uint64_t n = cache_->domains()[d].train_tokens;
    const uint64_t start = uniform_below(rng_, n - row + 1);  // [0, n - (T + 1)]
    std::memcpy(tokens + size_t(b) * row, cache_->train_tokens(d) + start, row);
    if (domains) (*domains)[size_t(b)] = int(d);
  }
}

std::string BatchSampler::state() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

void BatchSampler::set_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 restored;
  in >> restored;
  if (in.fail()) throw Error("malformed sampler state (expected a saved mt19937_64 state)");
  in >> std::ws;
  if (!in.eof()) throw Error("malformed sampler state: trailing text after the generator state");
  rng_ = restored;
}

size_t validation_windows(const TokenCache& cache, size_t domain, int block_size,
                          int max_windows, std::vector<uint8_t>* out) {
  if (domain >= cache.num_domains())
    throw Error("domain index " + std::to_string(domain) + " out of range (" +
                std::to_string(cache.num_domains()) + " domains)");
  if (block_size < 1 || max_windows < 0)
    throw Error("validation windows need block_size >= 1 and max_windows >= 0");
  const uint64_t size = cache.domains()[domain].val_tokens;
  const uint64_t w = uint64_t(block_size) + 1;
  const uint64_t n = std::min<uint64_t>(uint64_t(max_windows), size / w);
  if (n == 0) return 0;
  const uint8_t* data = cache.val_tokens(domain);
  // Starts floor(i * (size - w) / (n - 1)): the first at 0, the last flush with the end; their
  // gaps are at least floor((size - w) / (n - 1)) >= w because n * w <= size, so no overlap.
  // Computed as i*q + i*r/(n-1) (span = q*(n-1) + r), exact and free of 64-bit overflow.
  const uint64_t span = size - w;
  const uint64_t q = n > 1 ? span / (n - 1) : 0, r = n > 1 ? span % (n - 1) : 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t start = n == 1 ? 0 : i * q + i * r / (n - 1);
    out->insert(out->end(), data + start, data + start + w);
  }
  return size_t(n);
}

}  // namespace souplab
