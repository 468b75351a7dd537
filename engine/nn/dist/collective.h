#pragma once
// The collectives a data-parallel job needs, over libtorch's c10d (docs/DESIGN.md §6). collective.cpp is
// the one file that includes c10d: its API moved between libtorch 1.13 (backends derive from
// ProcessGroup) and 2.x (from c10d::Backend); what is used here (TCPStore, PrefixStore,
// ProcessGroupGloo / ProcessGroupNCCL, allreduce, allgather, gather, barrier) is spelled the
// same in both. Backend: NCCL for a CUDA device in the CUDA build, Gloo otherwise.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "souplab/distributed.h"

namespace souplab {

class Collective {
 public:
  // Joins the job: rank 0 serves the TCPStore at master_addr:master_port (torchrun's agent does
  // when agent_store is set), every rank connects and builds the process group (Gloo; CUDA
  // tensors are staged through the host). Waits up to timeout_s for every rank to arrive.
  // `device`: the rank's training device; a CUDA one selects NCCL where the build has it (each
  // rank its own GPU), anything else Gloo.
  static std::unique_ptr<Collective> join(const DistributedOptions& d, const torch::Device& device);
  ~Collective();

  int rank() const;
  int world_size() const;
  double timeout_s() const;
  torch::Device device() const;  // where tensors handed to the collectives must live

  // Sums the tensors over all ranks in place: one collective over one flat buffer (bucketed),
  // not one per tensor. Tensors may differ in shape; all must share a dtype and device.
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors);
  // The same sum, started now and finished by PendingSum::wait() (which writes the sums into
  // the tensors), so the caller computes while it travels. The tensors must not be used until
  // then, and no other collective may start in between (every rank runs them in one order).
  class PendingSum {
   public:
    PendingSum();
    PendingSum(PendingSum&&) noexcept;
    PendingSum& operator=(PendingSum&&) noexcept;
    ~PendingSum();  // an unwaited sum is waited for (errors swallowed: an exception is in flight)
    void wait();    // throws Error as all_reduce_sum does

   private:
    friend class Collective;
    struct State;
    std::unique_ptr<State> state_;
  };
  PendingSum all_reduce_sum_async(const std::vector<torch::Tensor>& tensors);
  // Every rank's (rows, c) tensor side by side: (rows, world_size * c), on every rank.
  torch::Tensor all_gather_columns(const torch::Tensor& local);
  // Every rank's tensor (same shape on all) on rank 0, in rank order; empty on the others.
  std::vector<torch::Tensor> gather_to_rank0(const torch::Tensor& local);
  // True on every rank when `local` is true on any (e.g. a stop request seen by one rank).
  bool any(bool local);
  // Every rank offers `value` under `key`; throws on every rank, naming the first rank whose
  // value differs from rank 0's (configs that must agree), so the job stops at once.
  void require_same(const std::string& key, const std::string& value);
  // Rank 0's `value` under `key`, on every rank (the others pass anything).
  std::string from_rank0(const std::string& key, const std::string& value);
  void barrier();
  // Seconds spent inside collectives so far (waiting for the other ranks, and the transfers).
  double waited_s() const;

 private:
  struct Impl;
  explicit Collective(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace souplab
