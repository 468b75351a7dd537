// The CPU build's answer to cuda_build_info(): no kernels compiled (engine/cuda/ is for the
// CUDA build, where cuda_build_info.cu defines it instead).
#include "engine/cuda/cuda_build.h"

#ifndef SOUPLAB_WITH_CUDA
namespace souplab {
CudaBuildInfo cuda_build_info() { return {}; }
CudaDeviceMemory cuda_device_memory(int) { return {}; }
}  // namespace souplab
#endif
