// The fused expert step (engine/cuda/factored_adamw.h). One thread per column p of E: it keeps
// column p of D (G values) in registers, then walks the n rows, forming each gradient element
// sum_r A[r, j] D[r, p] in a register and applying AdamW to E, m, v at once. Per step it reads
// E, m, v and D once and writes E, m, v once: 3 n P + G P floats in, 3 n P out, against
// 5 n P + G P (plus an n x P gradient written and read) for the unfused path. Neighbouring threads
// touch neighbouring columns, so every access to E, m, v and D is coalesced; A (G x n, a few KB)
// comes through the read-only cache.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/cuda/factored_adamw.h"

namespace souplab::cuda {
namespace {

constexpr int kMaxRegisterGroups = 32;  // G up to this keeps D's column in registers

template <bool kInRegisters>
__global__ void factored_adamw_kernel(FactoredAdamWArgs a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < a.P; p += stride) {
    float d[kInRegisters ? kMaxRegisterGroups : 1];
    if (kInRegisters)
      for (int64_t r = 0; r < a.G; ++r) d[r] = a.D[r * a.P + p];
    const float decay = a.mask ? a.decay * a.mask[a.mask_len == 1 ? 0 : p] : 0.0f;
    for (int64_t j = 0; j < a.n; ++j) {
      float g = 0;
      for (int64_t r = 0; r < a.G; ++r) {  // the same order of operations as the CPU reference
        const float coef = __ldg(a.A + r * a.n + j) * a.grad_scale;
        g += coef * (kInRegisters ? d[r] : a.D[r * a.P + p]);
      }
      const int64_t i = j * a.P + p;
      const float x = a.E[i] - decay * a.E[i];
      const float m = a.beta1 * a.m[i] + (1 - a.beta1) * g;
      const float v = a.beta2 * a.v[i] + (1 - a.beta2) * g * g;
      a.m[i] = m;
      a.v[i] = v;
      a.E[i] = x - a.step_size * m / (sqrtf(v) * a.inv_sqrt_bc2 + a.eps);
    }
  }
}

}  // namespace

void factored_adamw(const FactoredAdamWArgs& a) {
  if (a.P <= 0 || a.n <= 0 || a.G <= 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((a.P + kThreads - 1) / kThreads, 65535);
  auto stream = static_cast<cudaStream_t>(a.stream);
  if (a.G <= kMaxRegisterGroups)
    factored_adamw_kernel<true><<<unsigned(blocks), kThreads, 0, stream>>>(a);
  else
    factored_adamw_kernel<false><<<unsigned(blocks), kThreads, 0, stream>>>(a);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(std::string("factored AdamW kernel: ") + cudaGetErrorString(e));
}

}  // namespace souplab::cuda
