#pragma once
// The soup's training forward for the G specialists of one step at once (docs/DESIGN.md §1.1.3).
// Run as G separate forwards, each op of the GPT ran G times on a quarter of the batch: at width
// 64 that per-op overhead and GEMMs too small to fill two cores made the soup step 1.13-1.41x the
// dense one (docs/BENCHMARKS.md). Here every op runs once over the whole batch; only the linear
// layers differ per group, as one batched product over groups (baddbmm).
#include <torch/torch.h>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace souplab {

// thetas: (G, P) specialists; idx: (B, T) with B = G * b, rows g*b .. g*b + b - 1 run through
// thetas[g]. Returns logits (B, T, V), equal (up to float rounding) to gpt_forward of each
// group's rows with its own theta; backward writes dL/dthetas once.
torch::Tensor gpt_forward_grouped(const torch::Tensor& thetas, const ModelConfig& c, const ParamLayout& layout,
                                  const torch::Tensor& idx);

// Whether gpt_forward_grouped is the faster way for tensors like `thetas`: everywhere except a
// CPU float32 build whose linear layers go through oneDNN (engine/nn/cpu_gemm.h), where
// libtorch's batched product would take the slower system BLAS.
bool gpt_forward_grouped_pays(const torch::Tensor& thetas);

}  // namespace souplab
