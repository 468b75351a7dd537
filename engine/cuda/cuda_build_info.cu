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

}  // namespace souplab
