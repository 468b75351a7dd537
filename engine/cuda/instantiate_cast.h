#pragma once
// Instantiation fused with the cast to the inference dtype, on the GPU: the CUDA twin of
// instantiate_cast_cpu (engine/nn/instantiate_cast.cpp), which is its reference. Torch-free (raw
// device pointers), so nvcc never parses libtorch's headers.
#include <cstdint>

namespace souplab::cuda {

enum class OutDtype { kFloat32, kBFloat16, kFloat16 };

// out[p] = cast(S[p] + sum_j alpha[j] E[j, p]) for p < P, summed in float32 in the order j = 0..n-1
// without fused multiply-adds, so the result is bit-equal to the CPU reference. S (P), E (n, P),
// alpha (n): float32, contiguous, on one device; out: P elements of out_dtype there.
struct InstantiateCastArgs {
  const float* S = nullptr;
  const float* E = nullptr;
  const float* alpha = nullptr;
  void* out = nullptr;
  OutDtype out_dtype = OutDtype::kBFloat16;
  int64_t n = 0, P = 0;
  void* stream = nullptr;  // cudaStream_t to launch on
};

// Launches it (asynchronous on `stream`). Throws std::runtime_error naming the CUDA error when
// the launch fails.
void instantiate_cast(const InstantiateCastArgs& args);

}  // namespace souplab::cuda
