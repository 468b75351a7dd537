#pragma once
// Data-parallel training from the command line: the flags every training command shares, the
// job's options from them and torchrun's environment, and `--nproc N`, which starts N local
// ranks of the same command itself (for users without torchrun).
#include "app/cli/cli_args.h"
#include "souplab/distributed.h"

namespace souplab::cli {

// --nproc, --rank, --world-size, --master, --dist-timeout, --shard-bank.
void add_distributed_flags(Args& a);

// torchrun's environment, overridden by --rank/--world-size/--master/--dist-timeout/--shard-bank.
DistributedOptions distributed_options(const Args& a);

// True when this process should start the ranks instead of training itself (--nproc N > 1
// outside a job).
bool wants_local_launch(const Args& a);

// Starts --nproc copies of this command (argv without --nproc) as ranks 0..N-1 on 127.0.0.1 and
// a free port, with torchrun's environment variables; `train` ranks get --threads cores/N unless
// it is given (resume keeps the run's own). Waits for all. When one fails, the others stop by
// themselves (their collectives fail) and are killed if still running 10 s after the job's
// timeout. Returns 0 when every rank finished, else the first failed rank's exit code.
int launch_local_workers(const Args& a, int argc, char** argv);

}  // namespace souplab::cli
