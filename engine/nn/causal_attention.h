#pragma once
// Causal self-attention on the CPU in one pass per (sequence, head), forward and backward
// (docs/DESIGN.md "The attention kernel"). libtorch 1.13 has no fused attention: written as
// matmul, scale, mask, softmax, matmul it writes and reads five (B, nh, T, T) tensors per layer
// and its backward as many again, which at the default size (T = 256, head size 16) cost ~60 %
// of a training step. This kernel keeps each row's scores in a T-float buffer instead (the
// flash-attention recurrence: the backward recomputes them from the saved log-sum-exp), so
// attention costs what its arithmetic costs, in both libtorch builds.
#include <torch/torch.h>

namespace souplab {

// qkv: (B, T, 3, nh, hs) float32 on the CPU, the attention's input projection as the GPT
// computes it (q, k, v of every head side by side). Returns y: (B, T, nh, hs) contiguous, query
// t attending to keys 0..t with weights softmax(q k^T / sqrt(hs)). Differentiable (one
// backward; no double backward). Threads: libtorch's intra-op pool, over (sequence, head). With
// a fast GEMM (engine/nn/cpu_gemm.h) each head's products are oneDNN's, in blocks of query rows;
// otherwise plain loops, whose results do not depend on the thread count.
torch::Tensor fused_causal_attention(const torch::Tensor& qkv);

// Whether fused_causal_attention takes this input (CPU, float32).
bool fused_causal_attention_applies(const torch::Tensor& qkv);

}  // namespace souplab
