#pragma once
// What the CUDA build compiled in (torch-free: the CLI and the GUI include it). The CPU build
// (Debian's libtorch) has no engine/cuda kernels and says so.
#include <string>

namespace souplab {

struct CudaBuildInfo {
  bool compiled = false;  // engine/cuda/*.cu compiled by nvcc and linked against a CUDA libtorch
  std::string version;    // the CUDA runtime the kernels were compiled for, e.g. "13.0"
};
CudaBuildInfo cuda_build_info();

// Free and total memory of CUDA device `index`, in bytes; {0, 0} without the CUDA build or on
// any error (then nothing is refused on it).
struct CudaDeviceMemory {
  unsigned long long free = 0, total = 0;
};
CudaDeviceMemory cuda_device_memory(int index);

}  // namespace souplab
