#pragma once
// Fixed per-domain validation windows taken from a corpus cache (torch-free header).
#include <memory>
#include <string>
#include <vector>

namespace souplab {

struct ModelFacts;

namespace detail {
struct ValidationWindows;  // the windows as libtorch tensors, opaque to front ends
}  // namespace detail

class ValidationSet {
 public:
  // Opens the corpus cache (tokenising it first if needed). The windows are spread evenly over
  // each domain's validation split and ORDERED so that every prefix is spread too (0, 1/2, 1/4,
  // 3/4, ... of the split): the explorer refines on growing prefixes, and its first few windows
  // must not all come from the split's first document.
  static std::shared_ptr<const ValidationSet> from_corpus(const std::string& corpus_dir,
                                                          const std::string& cache_dir,
                                                          int block_size, int windows_per_domain);
  // The validation set a model was trained with (its corpus), or an Error saying it is missing.
  static std::shared_ptr<const ValidationSet> for_model(const ModelFacts& facts, int windows_per_domain);

  // A target text (file or folder) as one "domain" named `name`: up to `windows` windows of
  // block_size tokens (shorter for a shorter text) spread evenly over it, read as `souplab-cli
  // weights --method fit` reads it. Errors name the target.
  static std::shared_ptr<const ValidationSet> from_text(const std::string& target, const std::string& name,
                                                        int block_size, int windows);

  explicit ValidationSet(std::shared_ptr<const detail::ValidationWindows> windows);
  const std::vector<std::string>& domains() const;
  int block_size() const;
  int windows(size_t domain) const;  // windows of that domain (fewer than asked when it is short)
  const detail::ValidationWindows& windows() const { return *windows_; }

 private:
  std::shared_ptr<const detail::ValidationWindows> windows_;
};

// The window shape of the explorer's quick evaluation tier for k domains: at most max_windows
// windows of at most max_block tokens per domain, fewer and then shorter ones (down to 16
// tokens) so that k * windows * block stays within token_budget. ~1,000 tokens evaluate in
// ~75 ms at the demo size on 2 cores (docs/BENCHMARKS.md, slider path), which with ~8 ms of
// instantiation keeps a slider move within the 100 ms of docs/DESIGN.md §4.1.
struct WindowShape {
  int block;
  int windows;
};
WindowShape quick_window_shape(int k, int max_block, int max_windows, int token_budget = 1024);

}  // namespace souplab
