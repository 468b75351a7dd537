#pragma once
// Where a training process stands in a data-parallel job (torch-free: front ends include it).
//
// A job is W processes ("ranks") that train one run together over libtorch's c10d (Gloo on
// the CPU, NCCL on CUDA), launched the way torch users expect: by torchrun (which sets RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT), by `souplab-cli train --nproc N`, or by
// hand with --rank/--world-size/--master. Every rank samples the whole step's batch from the
// same seed and trains on its own contiguous share of the rows, gradients are summed over the
// ranks, and every rank takes the same optimiser step: W ranks train the run one process with
// the same global batch would (to float-summation tolerance), and a checkpoint (written by rank
// 0 alone, with the run log) resumes on any number of ranks.
#include <string>

namespace souplab {

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;       // 1: a plain single-process run
  int local_rank = 0;       // index on this host (picks cuda:LOCAL_RANK when the device is auto)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;  // the TCPStore every rank meets at
  // True under torchrun (TORCHELASTIC_USE_AGENT_STORE=True): its agent hosts the store and rank
  // 0 joins it as a client instead of serving it.
  bool agent_store = false;
  // A collective that waits longer than this (a hung or lost rank) fails with an error naming
  // the job's ranks; a rank that dies closes its connections, which fails the others at once.
  // Evaluations run on rank 0 while the others wait, so it must exceed one evaluation.
  double timeout_s = 300;
  // Split the soup's S, E and their AdamW moments along the parameter dimension over the ranks
  // (ZeRO-3 style, --shard-bank) instead of replicating them: ~1/W of the bank's memory per rank.
  // Needs a soup with full experts; checkpoints are whole banks either way.
  bool shard_bank = false;

  bool active() const { return world_size > 1; }
};

// The options torchrun's environment gives (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE); world_size 1 when WORLD_SIZE is unset. Malformed
// or inconsistent values throw an Error naming the variable.
DistributedOptions distributed_from_env();

// "HOST:PORT" into master_addr / master_port (the CLI's --master); throws on a malformed value.
void parse_master_address(const std::string& text, DistributedOptions* out);

// A TCP port the kernel just gave out on 127.0.0.1 (for a job of local ranks: rank 0's store
// binds it moments later). Throws an Error when no socket can be had.
int free_local_port();

// A job of `ranks` ranks on this machine, as both front ends start one (the CLI's --nproc as
// processes, the GUI's "Processes" as threads): the rendezvous port rank 0 will bind, and each
// rank's intra-op threads, `threads` when the user set one (> 0), else this machine's cores split
// evenly (at least 1): two ranks of 2 threads on 2 cores would oversubscribe them ~10x.
struct LocalJobPlan {
  int ranks = 1;
  int master_port = 0;
  int threads_per_rank = 1;
};
LocalJobPlan plan_local_job(int ranks, int threads);

// Throws an Error unless 0 <= rank < world_size, 1 <= world_size and the port is valid.
void validate(const DistributedOptions& d);

}  // namespace souplab
