#pragma once
// Sampling for training: the meta-distribution pi over domain weights h (docs/DESIGN.md §1.1.4) and the
// batch sampler that draws each sequence's domain from h and a random window in that domain.
// All randomness comes from one seeded std::mt19937_64 whose state is saved in checkpoints, so
// a resumed run draws exactly the batches the uninterrupted run would have drawn.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "souplab/corpus.h"

namespace souplab {

enum class MetaDistribution {
  kSparseDirichlet,  // support size s ~ U{1..s_max}, s domains without replacement, flat Dirichlet
  kDirichlet,        // flat Dirichlet over all k domains
  kOneHot,           // one domain chosen uniformly
};
MetaDistribution parse_meta_distribution(const std::string& name);  // Error on unknown names

class BatchSampler {
 public:
  BatchSampler(std::shared_ptr<const TokenCache> cache, int block_size, uint64_t seed);

  // h ~ pi. support_max is capped at k. `prior` (k non-negative weights, or empty for
  // uniform) weights which domains a sparse or one-hot h picks, and scales a flat Dirichlet's
  // draws; empty keeps the uniform draws exactly (runs resume bit for bit).
  std::vector<double> sample_h(MetaDistribution pi, int support_max, const std::vector<double>& prior = {});

  // Fills `tokens` with batch_size rows of block_size + 1 consecutive training tokens (inputs
  // are [0, T), targets [1, T]); row b's domain is drawn from h and written to domains[b] if
  // given. tokens must hold batch_size * (block_size + 1) bytes.
  void sample_batch(const std::vector<double>& h, int batch_size, uint8_t* tokens,
                    std::vector<int>* domains = nullptr);

  // The generator's full state as text, and its restore (Error on malformed text).
  std::string state() const;
  void set_state(const std::string& state);

  const TokenCache& cache() const { return *cache_; }
  int block_size() const { return block_size_; }

 private:
  std::vector<double> sample_h_with_prior(MetaDistribution pi, int support_max, const std::vector<double>& prior);

  std::shared_ptr<const TokenCache> cache_;
  int block_size_;
  std::mt19937_64 rng_;
};

// The fixed validation windows of one domain: up to max_windows non-overlapping windows of
// block_size + 1 tokens taken evenly across the domain's validation split. Deterministic.
// Returns the number of windows written (rows of block_size + 1 bytes appended to `out`).
size_t validation_windows(const TokenCache& cache, size_t domain, int block_size,
                          int max_windows, std::vector<uint8_t>* out);

}  // namespace souplab
