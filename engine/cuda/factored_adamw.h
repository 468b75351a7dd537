#pragma once
// The soup's fused expert step on the GPU: the CUDA twin of AdamW::step_factored_cpu
// (engine/nn/adamw.cpp), which is its reference. Torch-free (raw device pointers), so nvcc never
// parses libtorch's headers; engine/nn/factored_step_cuda.cpp is the libtorch side.
#include <cstdint>

namespace souplab::cuda {

// Expert parameters E (n, P) with their Adam moments m, v, updated from the factored gradient
// grad(E) = A^T D without ever storing it: A (G, n) holds the alphas of the step's G groups,
// D (G, P) each group's dL/dtheta. All float32, contiguous, on one device.
struct FactoredAdamWArgs {
  float* E = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  const float* A = nullptr;
  const float* D = nullptr;
  const float* mask = nullptr;  // weight-decay mask, (P) or (1); null = no decay
  int64_t mask_len = 0;
  int64_t G = 0, n = 0, P = 0;
  float step_size = 0;  // lr / (1 - beta1^t)
  float decay = 0;      // lr * weight_decay
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float grad_scale = 1;    // the clip factor
  float inv_sqrt_bc2 = 1;  // 1 / sqrt(1 - beta2^t)
  void* stream = nullptr;  // cudaStream_t to launch on
};

// Launches the update (asynchronous on `stream`). Throws std::runtime_error naming the CUDA
// error when the launch fails.
void factored_adamw(const FactoredAdamWArgs& args);

}  // namespace souplab::cuda
