#pragma once
// y = x W + b for the GPT's linear layers (GPT-2's Conv1D orientation) and its tied output
// projection, differentiable. Through cpu_sgemm (oneDNN, engine/nn/cpu_gemm.h) when the build
// has it and the tensors are float32 on the CPU; else libtorch's addmm / mm.
#include <torch/torch.h>

namespace souplab {

// x: (N, in); w: (in, out), contiguous or the transpose of a contiguous (out, in) matrix (the
// tied output embedding wte.t()); b: (out) or undefined. Returns (N, out).
torch::Tensor linear_layer(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

}  // namespace souplab
