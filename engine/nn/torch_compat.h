#pragma once
// The few places where libtorch 1.13 (Debian) and 2.x (the PyPI wheel) differ, each behind one
// small function so the engine has no version #ifs elsewhere.
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <limits>

namespace souplab::compat {

// True when this libtorch has fused scaled_dot_product_attention (2.0 and later).
constexpr bool kHasFusedAttention = TORCH_VERSION_MAJOR >= 2;

// Fused attention is used where it exists unless switched off (bench/ measures both in one run).
inline std::atomic<bool>& fused_attention_enabled() {
  static std::atomic<bool> on{true};
  return on;
}

// Causal attention of q (B, nh, T, hs) over k, v (B, nh, past + T, hs): query i (position
// past + i) sees keys 0..past + i. Returns (B, nh, T, hs).
inline torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      int64_t past) {
  const int64_t T = q.size(2), total = k.size(2);
#if TORCH_VERSION_MAJOR >= 2
  if (fused_attention_enabled().load(std::memory_order_relaxed)) {
    // is_causal aligns the mask top-left, right only when queries and keys start together; a
    // single new token (generation) sees every cached key, so it needs no mask at all.
    if (past == 0) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
    if (T == 1) return at::scaled_dot_product_attention(q, k, v);
  }
#endif
  const auto masked = torch::ones({T, total}, q.options().dtype(torch::kBool)).triu(past + 1);
  auto att = torch::matmul(q, k.transpose(-2, -1)).mul_(1.0 / std::sqrt(double(q.size(-1))));  // (B, nh, T, total)
  att = att.masked_fill(masked, -std::numeric_limits<float>::infinity()).softmax(-1);
  return torch::matmul(att, v);
}

}  // namespace souplab::compat
