// c10d's Gloo and NCCL headers are behind USE_C10D_GLOO / USE_C10D_NCCL, which libtorch's CMake
// config does not define (docs/DESIGN.md §6); defined here only, after the precompiled torch
// header, which never reads them. NCCL exists in the CUDA build only.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#if defined(SOUPLAB_WITH_CUDA) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#include "engine/nn/dist/collective.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SOUPLAB_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <functional>

#include "souplab/error.h"

namespace souplab {

// What Gloo's and NCCL's process groups derive from: c10d::ProcessGroup in libtorch 1.13,
// c10d::Backend from 2.0 on. The calls below are the same on both.
#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif

struct Collective::Impl {
  DistributedOptions options;
  torch::Device device{torch::kCPU};  // where the collectives' tensors live
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<ProcessGroupBase> group;
  double waited_s = 0;

  // Starts a collective and waits for it (the wait counted in waited_s); c10d's failure
  // becomes fail(what).
  void run(const std::string& what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) {
    try {
      const auto work = start();
      const auto t0 = std::chrono::steady_clock::now();
      work->wait();
      waited_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }

  std::string where() const {
    return "rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size) +
           " (store " + options.master_addr + ":" + std::to_string(options.master_port) + ")";
  }
  // c10d reports a dead peer as a closed connection and a hung one as a timeout, in its own
  // words; say what that means for the job.
  [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
    throw Error("distributed training, " + where() + ": " + what +
                " failed: another rank died, hung for more than " +
                std::to_string(int(options.timeout_s)) + " s, or is unreachable (" + e.what() + ")");
  }
  void set(const std::string& key, const std::string& value) {
    store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  }
  std::string get(const std::string& key) {
    const std::vector<uint8_t> v = store->get(key);
    return std::string(v.begin(), v.end());
  }
};

namespace {

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace

std::unique_ptr<Collective> Collective::join(const DistributedOptions& d, const torch::Device& device) {
  validate(d);
  auto impl = std::make_unique<Impl>();
  impl->options = d;
  impl->device = device;
  const auto timeout = std::chrono::milliseconds(int64_t(d.timeout_s * 1000));
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(d.master_port);
    so.isServer = d.rank == 0 && !d.agent_store;
    if (so.isServer) so.numWorkers = size_t(d.world_size);
    so.waitWorkers = false;  // the process group's rendezvous waits for every rank below
    so.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(d.master_addr, so);
    // Our own key space: under torchrun the agent's keys share the store.
    impl->store = c10::make_intrusive<c10d::PrefixStore>("souplab", tcp);

#ifdef SOUPLAB_WITH_CUDA
    if (device.is_cuda()) {  // NCCL between GPUs: one device per rank
      c10::cuda::set_device(device.index() < 0 ? 0 : device.index());
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, d.rank, d.world_size, nccl);
      return std::unique_ptr<Collective>(new Collective(std::move(impl)));
    }
#endif
    // Gloo: the CPU (and, in a build without NCCL, CUDA tensors staged through the host).
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // One host: loopback. Several: the interface GLOO_SOCKET_IFNAME names, else the address
    // this host's name resolves to (Gloo falls back to loopback when it does not resolve).
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(d.master_addr))
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 1;  // one collective at a time; the cores are the training's
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, d.rank, d.world_size, opts);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // torchrun's store speaks its own torch version's protocol.
    impl->fail(d.agent_store ? "joining torchrun's store (use a torchrun of the same libtorch version "
                               "as this build, or souplab-cli's --nproc)"
                             : "joining the job",
               e);
  }
  return std::unique_ptr<Collective>(new Collective(std::move(impl)));
}

Collective::Collective(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Collective::~Collective() = default;

int Collective::rank() const { return impl_->options.rank; }
torch::Device Collective::device() const { return impl_->device; }
double Collective::waited_s() const { return impl_->waited_s; }
int Collective::world_size() const { return impl_->options.world_size; }
double Collective::timeout_s() const { return impl_->options.timeout_s; }

void Collective::all_reduce_sum(const std::vector<torch::Tensor>& tensors) {
  all_reduce_sum_async(tensors).wait();
}

struct Collective::PendingSum::State {
  Impl* impl = nullptr;
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<torch::Tensor> bucket;   // the flat buffer in flight
  std::vector<torch::Tensor> tensors;  // where its sums go
};

Collective::PendingSum::PendingSum() = default;
Collective::PendingSum::PendingSum(PendingSum&&) noexcept = default;
Collective::PendingSum& Collective::PendingSum::operator=(PendingSum&&) noexcept = default;
Collective::PendingSum::~PendingSum() {
  if (!state_) return;
  try {
    state_->work->wait();
  } catch (...) {
  }
}

void Collective::PendingSum::wait() {
  if (!state_) return;
  const auto s = std::move(state_);
  s->impl->run("summing gradients", [&] { return s->work; });
  int64_t offset = 0;
  torch::NoGradGuard no_grad;
  for (const auto& t : s->tensors) {
    const int64_t n = t.numel();
    t.copy_(s->bucket[0].narrow(0, offset, n).view_as(t));
    offset += n;
  }
}

Collective::PendingSum Collective::all_reduce_sum_async(const std::vector<torch::Tensor>& tensors) {
  PendingSum pending;
  if (tensors.empty()) return pending;
  auto s = std::make_unique<PendingSum::State>();
  s->impl = impl_.get();
  s->tensors = tensors;
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
  s->bucket = {torch::cat(flat)};
  try {
    s->work = impl_->group->allreduce(s->bucket);
  } catch (const std::exception& e) {
    impl_->fail("summing gradients", e);
  }
  pending.state_ = std::move(s);
  return pending;
}

torch::Tensor Collective::all_gather_columns(const torch::Tensor& local) {
  std::vector<torch::Tensor> input{local.contiguous()};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < world_size(); ++r) output[0].push_back(torch::empty_like(input[0]));
  impl_->run("gathering the specialists' columns", [&] { return impl_->group->allgather(output, input); });
  return torch::cat(output[0], local.dim() - 1);
}

std::vector<torch::Tensor> Collective::gather_to_rank0(const torch::Tensor& local) {
  std::vector<torch::Tensor> input{local.contiguous()};
  std::vector<std::vector<torch::Tensor>> output;
  if (rank() == 0) {
    output.emplace_back();
    for (int r = 0; r < world_size(); ++r) output[0].push_back(torch::empty_like(input[0]));
  }
  c10d::GatherOptions opts;
  opts.rootRank = 0;
  impl_->run("gathering the bank on rank 0", [&] { return impl_->group->gather(output, input, opts); });
  return rank() == 0 ? output[0] : std::vector<torch::Tensor>{};
}

bool Collective::any(bool local) {
  std::vector<torch::Tensor> flag{torch::full({1}, local ? 1.0f : 0.0f, torch::TensorOptions().device(impl_->device))};
  impl_->run("agreeing on a stop", [&] { return impl_->group->allreduce(flag); });
  return flag[0].item<float>() > 0;
}

void Collective::require_same(const std::string& key, const std::string& value) {
  try {
    impl_->set(key + "/" + std::to_string(rank()), value);
    const std::string reference = rank() == 0 ? value : impl_->get(key + "/0");
    for (int r = 1; r < world_size(); ++r) {
      const std::string theirs = r == rank() ? value : impl_->get(key + "/" + std::to_string(r));
      if (theirs != reference)
        throw Error("distributed training: rank " + std::to_string(r) + "'s " + key +
                    " differs from rank 0's; every rank must be started with the same settings");
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    impl_->fail("comparing " + key, e);
  }
}

std::string Collective::from_rank0(const std::string& key, const std::string& value) {
  try {
    if (rank() == 0) impl_->set(key, value);
    return rank() == 0 ? value : impl_->get(key);
  } catch (const std::exception& e) {
    impl_->fail("receiving " + key + " from rank 0", e);
  }
}

void Collective::barrier() {
  impl_->run("waiting for the other ranks", [&] { return impl_->group->barrier(); });
}

}  // namespace souplab
