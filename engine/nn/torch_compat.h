#pragma once
// The few places where libtorch 1.13 (Debian) and 2.x (the PyPI wheel) differ, each behind one
// small function so the engine has no version #ifs elsewhere.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <limits>

namespace souplab::compat {

// True when this libtorch has fused scaled_dot_product_attention (2.0 and later).
constexpr bool kHasFusedAttention = TORCH_VERSION_MAJOR >= 2;

// How a training or evaluation forward computes causal attention (the GPT's only choice of
// kernel; bench/ measures them side by side):
//   kSouplab  engine/nn/causal_attention: one pass per (sequence, head), forward and backward,
//             on float32 CPU tensors (the default with libtorch 1.13, which has nothing fused);
//   kTorch    at::scaled_dot_product_attention (the default with libtorch 2.x, CPU and GPU);
//   kMatmul   matmul, mask, softmax, matmul: what libtorch 1.13 offers on its own.
// A choice that does not apply to the tensors (kSouplab on CUDA, kTorch on 1.13) falls through
// to the next one that does. Generation with a cache always takes the libtorch paths.
enum class AttentionPath { kSouplab, kTorch, kMatmul };
inline std::atomic<AttentionPath>& attention_path() {
  static std::atomic<AttentionPath> path{kHasFusedAttention ? AttentionPath::kTorch : AttentionPath::kSouplab};
  return path;
}
inline const char* attention_path_name(AttentionPath p) {
  return p == AttentionPath::kSouplab ? "souplab" : p == AttentionPath::kTorch ? "torch" : "matmul";
}

// Causal attention of q (B, nh, T, hs) over k, v (B, nh, past + T, hs): query i (position
// past + i) sees keys 0..past + i. Returns (B, nh, T, hs). libtorch's kernels only.
inline torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      int64_t past) {
  const int64_t T = q.size(2), total = k.size(2);
#if TORCH_VERSION_MAJOR >= 2
  if (attention_path().load(std::memory_order_relaxed) != AttentionPath::kMatmul) {
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

// Keeps the ops of its scope out of autocast, float32 as written: the bank's theta = S + A E
// and its coefficients (bf16 would round the experts' small terms away, and the soup's fused
// step reads dL/dtheta as float32). Python: torch.autocast("cuda", enabled=False).
struct NoAutocast {
  c10::impl::ExcludeDispatchKeyGuard guard{c10::DispatchKey::AutocastCUDA};
};

// bf16 autocast of CUDA ops while it lives (a training step's forward; the backward follows the
// forward's dtypes by itself), as Python's torch.autocast("cuda", torch.bfloat16) does: matmuls
// run in bf16 from float32 weights, reductions and the loss in float32. `on` false: nothing.
class CudaBf16Autocast {
 public:
  explicit CudaBf16Autocast(bool on) : on_(on) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_on_ = at::autocast::is_autocast_enabled(at::kCUDA);
    was_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    was_on_ = at::autocast::is_enabled();
    was_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~CudaBf16Autocast() {
    if (!on_) return;
    // The cast weights are cached for the scope; the outermost scope frees them.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, was_on_);
    at::autocast::set_autocast_dtype(at::kCUDA, was_dtype_);
#else
    at::autocast::set_enabled(was_on_);
    at::autocast::set_autocast_gpu_dtype(was_dtype_);
#endif
  }
  CudaBf16Autocast(const CudaBf16Autocast&) = delete;
  CudaBf16Autocast& operator=(const CudaBf16Autocast&) = delete;

 private:
  bool on_;
  bool was_on_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

}  // namespace souplab::compat
