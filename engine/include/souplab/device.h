#pragma once
// Run-time device choice (torch-free header). CUDA paths are always compiled; whether they are
// taken is decided here, at run time, so one binary serves CPU-only and GPU machines.
#include <string>
#include <vector>

namespace souplab {

struct DeviceChoice {
  std::string device;   // "cpu" or "cuda:i", as libtorch parses it
  std::string message;  // says which device and why, for the user
};

// spec: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:i". Asking for CUDA
// when it is absent is an Error, not a silent fall-back to CPU.
DeviceChoice select_device(const std::string& spec);

// "libtorch 1.13.0" and the like.
std::string torch_version_string();
// "CUDA: compiled (13.0), 0 devices" in the CUDA build; "CUDA: not compiled (CPU-only libtorch)"
// in the CPU build.
std::string cuda_status_string();
std::string available_devices_string();
// "cpu", then "cuda:0", "cuda:1", ... for every CUDA device present: what a device picker lists.
std::vector<std::string> available_devices();
bool cuda_available();

// Sets libtorch's intra-op threads (0 = one per core).
void set_torch_threads(int threads);
int torch_threads();
// Intra-op threads for the CALLING thread's own work (0 = one per core). libtorch's OpenMP
// backend gives every thread that runs tensor ops its own team, so a front end running a
// training and an explorer side by side sizes each thread's team to share the cores (two teams
// of 2 on 2 cores ran ~10x slower). Also becomes the size a thread that has not run tensor ops
// yet starts with. A no-op with a backend whose pool is shared by all threads (not OpenMP).
void set_this_thread_torch_threads(int threads);

}  // namespace souplab
