// Instantiation fused with the cast (engine/cuda/instantiate_cast.h). One thread per column p:
// it reads S[p] and the n values E[j, p] once, sums in a register and writes the specialist's
// element once in the inference dtype. Neighbouring threads take neighbouring columns, so every
// read of E's rows is coalesced; alpha (n floats) comes through the read-only cache. Bytes moved:
// (n + 1) P floats in, P x 2 bytes out (bf16/fp16), against the unfused path's extra float32 theta
// written and read again by the cast (8 P bytes more).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/cuda/instantiate_cast.h"

namespace souplab::cuda {
namespace {

template <typename Out>
__device__ Out from_float(float x);
template <>
__device__ float from_float<float>(float x) { return x; }
template <>
__device__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __half from_float<__half>(float x) { return __float2half_rn(x); }

template <typename Out>
__global__ void instantiate_cast_kernel(InstantiateCastArgs a) {
  Out* out = static_cast<Out*>(a.out);
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < a.P; p += stride) {
    float acc = a.S[p];
    for (int64_t j = 0; j < a.n; ++j)  // _rn intrinsics: no FMA contraction, as on the CPU
      acc = __fadd_rn(acc, __fmul_rn(__ldg(a.alpha + j), a.E[j * a.P + p]));
    out[p] = from_float<Out>(acc);
  }
}

}  // namespace

void instantiate_cast(const InstantiateCastArgs& a) {
  if (a.P <= 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((a.P + kThreads - 1) / kThreads, 65535);
  auto stream = static_cast<cudaStream_t>(a.stream);
  switch (a.out_dtype) {
    case OutDtype::kFloat32: instantiate_cast_kernel<float><<<unsigned(blocks), kThreads, 0, stream>>>(a); break;
    case OutDtype::kBFloat16: instantiate_cast_kernel<__nv_bfloat16><<<unsigned(blocks), kThreads, 0, stream>>>(a); break;
    case OutDtype::kFloat16: instantiate_cast_kernel<__half><<<unsigned(blocks), kThreads, 0, stream>>>(a); break;
  }
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(std::string("instantiate+cast kernel: ") + cudaGetErrorString(e));
}

}  // namespace souplab::cuda
