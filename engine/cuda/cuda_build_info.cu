// Compiled by nvcc in the CUDA build only (engine/CMakeLists.txt); the CPU build links
// engine/nn/cuda_build_stub.cpp instead.
#include <cuda_runtime_api.h>

#include "engine/cuda/cuda_build.h"

namespace souplab {

CudaBuildInfo cuda_build_info() {
  CudaBuildInfo info;
  info.compiled = true;
  info.version = std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10);
  return info;
}

CudaDeviceMemory cuda_device_memory(int index) {
  CudaDeviceMemory m;
  int current = 0;
  if (cudaGetDevice(&current) != cudaSuccess || cudaSetDevice(index) != cudaSuccess) return m;
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) == cudaSuccess) {
    m.free = free;
    m.total = total;
  }
  cudaSetDevice(current);
  return m;
}

}  // namespace souplab
