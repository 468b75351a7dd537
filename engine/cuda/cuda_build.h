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

}  // namespace souplab
