#include "souplab/device.h"

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

#include "souplab/error.h"
#include "engine/cuda/cuda_build.h"

namespace souplab {

bool cuda_available() { return torch::cuda::is_available(); }

DeviceChoice select_device(const std::string& spec) {
  const bool has_cuda = cuda_available();
  const int count = has_cuda ? int(torch::cuda::device_count()) : 0;
  if (spec == "auto" || spec.empty()) {
    if (has_cuda) return {"cuda:0", "using CUDA device 0 (of " + std::to_string(count) + ")"};
    return {"cpu", cuda_build_info().compiled ? "using the CPU (no CUDA device is present)"
                                              : "using the CPU (this libtorch is a CPU-only build)"};
  }
  if (spec == "cpu") return {"cpu", "using the CPU (as asked)"};
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (spec.size() > 5) {
      try {
        size_t used = 0;
        index = std::stoi(spec.substr(5), &used);
        if (used != spec.size() - 5) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        throw Error("device \"" + spec + "\": expected cuda:N with N a device index");
      }
    }
    if (!has_cuda)
      throw Error("device \"" + spec + "\": " +
                  (cuda_build_info().compiled ? "no CUDA device is present (this CUDA build found none)"
                                              : "CUDA is not compiled in (this libtorch is a CPU-only build)") +
                  "; use --device cpu or auto");
    if (index < 0 || index >= count)
      throw Error("device \"" + spec + "\": there are " + std::to_string(count) + " CUDA devices");
    return {"cuda:" + std::to_string(index), "using CUDA device " + std::to_string(index)};
  }
  throw Error("device \"" + spec + "\": expected auto, cpu, cuda or cuda:N");
}

std::string torch_version_string() {
  return "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
         std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
}

std::string cuda_status_string() {
  const CudaBuildInfo info = cuda_build_info();
  if (!info.compiled) return "CUDA: not compiled (CPU-only libtorch; build with --torch pypi for CUDA)";
  const int n = cuda_available() ? int(torch::cuda::device_count()) : 0;
  return "CUDA: compiled (" + info.version + "), " + std::to_string(n) + (n == 1 ? " device" : " devices");
}

std::vector<std::string> available_devices() {
  std::vector<std::string> out{"cpu"};
  if (cuda_available())
    for (size_t i = 0; i < torch::cuda::device_count(); ++i) out.push_back("cuda:" + std::to_string(i));
  return out;
}

std::string available_devices_string() {
  std::string s = "cpu (" + std::to_string(at::get_num_threads()) + " threads)";
  if (cuda_available()) {
    for (size_t i = 0; i < torch::cuda::device_count(); ++i) s += ", cuda:" + std::to_string(i);
  } else {
    s += "; CUDA not available";
  }
  return s;
}

void set_torch_threads(int threads) {
  // libtorch's own default can be a single thread (OpenMP sees a restricted environment), which
  // halves training speed on a 2-core machine: default to every core instead.
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  if (threads != at::get_num_threads()) at::set_num_threads(threads);
}

int torch_threads() { return at::get_num_threads(); }

void set_this_thread_torch_threads(int threads) {
  static const bool per_thread = at::get_parallel_info().find("OpenMP") != std::string::npos;
  if (!per_thread) return;
  // The team size is set lazily from the process's on a thread's first parallel op: set it up
  // first, or that first op would undo what is set here.
  at::internal::lazy_init_num_threads();
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  if (threads != at::get_num_threads()) at::set_num_threads(threads);
}

}  // namespace souplab
