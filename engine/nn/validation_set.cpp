// ValidationSet: a model's per-domain validation windows, for the explorer, compare and export.
#include "souplab/validation_set.h"

#include <algorithm>

#include "souplab/corpus.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "engine/nn/target_text.h"
#include "engine/nn/validation.h"

namespace souplab {

ValidationSet::ValidationSet(std::shared_ptr<const detail::ValidationWindows> windows)
    : windows_(std::move(windows)) {}

const std::vector<std::string>& ValidationSet::domains() const { return windows_->names; }

int ValidationSet::block_size() const { return windows_->block_size; }

int ValidationSet::windows(size_t domain) const { return int(windows_->domains.at(domain).tokens.size(0)); }

namespace {

// 0..n-1 in van der Corput order (the binary digits of i mirrored, scaled to n, repeats
// skipped): every prefix of it is spread over 0..n-1. Each index is hit within the first
// 2^ceil(log2 n) points, because its interval [i/n, (i+1)/n) holds one of them.
std::vector<int64_t> spread_order(int64_t n) {
  std::vector<int64_t> order;
  std::vector<bool> seen(size_t(n), false);
  for (uint64_t i = 0; int64_t(order.size()) < n; ++i) {
    double x = 0, f = 0.5;
    for (uint64_t b = i; b; b >>= 1, f /= 2) x += double(b & 1) * f;
    const auto idx = std::min<int64_t>(n - 1, int64_t(x * double(n)));
    if (!seen[size_t(idx)]) {
      seen[size_t(idx)] = true;
      order.push_back(idx);
    }
  }
  return order;
}

}  // namespace

std::shared_ptr<const ValidationSet> ValidationSet::from_corpus(const std::string& corpus_dir,
                                                                const std::string& cache_dir,
                                                                int block_size,
                                                                int windows_per_domain) {
  CorpusOptions opts;
  opts.cache_dir = cache_dir;
  opts.min_domain_tokens = uint64_t(block_size) + 1;
  auto cache = TokenCache::open(corpus_dir, opts);
  auto w = std::make_shared<detail::ValidationWindows>();
  w->domains = load_validation_windows(*cache, block_size, windows_per_domain);
  for (auto& d : w->domains) {  // (the mean over all windows is the same in any order)
    d.tokens = d.tokens.index_select(0, torch::tensor(spread_order(d.tokens.size(0)), torch::kInt64));
    w->names.push_back(d.name);
  }
  w->block_size = block_size;
  return std::make_shared<ValidationSet>(std::move(w));
}

std::shared_ptr<const ValidationSet> ValidationSet::for_model(const ModelFacts& facts,
                                                              int windows_per_domain) {
  if (facts.corpus_dir.empty())
    throw Error(facts.path + ": no corpus is recorded for this model, so there is no validation data");
  auto set = from_corpus(facts.corpus_dir, facts.cache_dir, facts.config.model.block_size,
                         windows_per_domain);
  if (!facts.domains.empty() && set->domains() != facts.domains)
    throw Error(facts.corpus_dir + ": its domains no longer match those of " + facts.path);
  return set;
}

std::shared_ptr<const ValidationSet> ValidationSet::from_text(const std::string& target, const std::string& name,
                                                              int block_size, int windows) {
  const TargetWindows t = target_windows(target, block_size, windows);  // as fitting h sees it
  auto w = std::make_shared<detail::ValidationWindows>();
  w->domains.push_back({name, t.windows});
  w->names.push_back(name);
  w->block_size = int(t.T);
  return std::make_shared<ValidationSet>(std::move(w));
}

WindowShape quick_window_shape(int k, int max_block, int max_windows, int token_budget) {
  k = std::max(1, k);
  const int block = std::max(1, std::min(max_block, std::max(16, token_budget / k)));
  const int windows = std::clamp(token_budget / (k * block), 1, std::max(1, max_windows));
  return {block, windows};
}

}  // namespace souplab
