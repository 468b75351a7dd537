#pragma once
// A target text (a file or a folder of text files a user wants a specialist for) as the models
// see it: its documents, each followed by a form feed as in the corpus cache, and windows of
// the model's context spread evenly over it. Shared by fitting h (target_weights.cpp) and
// fine-tuning on the target (finetune.cpp).
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace souplab {

// The target's bytes (at most max_bytes read). Errors name the target: missing, unreadable,
// or shorter than min_bytes.
std::string read_target_text(const std::string& target, uint64_t max_bytes, int64_t min_bytes);

// Up to W windows of T + 1 bytes over bytes[begin, end), evenly spread, the first at `begin` and
// the last flush with `end`: (W', T + 1) int64 with W' = min(W, (end - begin - 1) / T), >= 1.
torch::Tensor spread_windows(const std::string& bytes, int64_t begin, int64_t end, int64_t T, int64_t W);

// A whole target read (up to 64 MiB; at least 9 bytes) and cut into up to W windows of the
// model's context (shorter when the target is): what fitting h is measured on, and the
// explorer's bar for the target (ValidationSet::from_text). windows: (W', T + 1).
struct TargetWindows {
  torch::Tensor windows;
  int64_t T = 0;
};
TargetWindows target_windows(const std::string& target, int64_t block_size, int64_t W);

}  // namespace souplab
