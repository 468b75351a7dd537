#pragma once
// Presets (docs/DESIGN.md §7): a size and a budget per kind of machine, so a user picks "the
// 10-minute quick start", "a night on this CPU" or "half an hour on one GPU" instead of layers,
// widths and steps. Each shows, before the run starts, its size, the tokens it trains on, its
// memory and its time: measured on this machine by a few real training steps (probe_training_
// throughput), or, for a GPU preset where no GPU is, from docs/GPU.md's roofline and labelled as
// an estimate. Torch-free header.
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/config.h"

namespace souplab {

struct Preset {
  std::string name;         // --preset NAME
  std::string title;        // what the new-run dialog lists
  std::string device;       // "cpu" or "cuda": the machine it is sized for
  double hours = 0;         // the time it is sized to take there (the soup run alone)
  std::string sized_by;     // one line: how its size and steps were chosen
  // What the preset sets; everything else keeps the config's defaults (and their per-size rules).
  int n_layer = 2, n_embd = 64, n_head = 4, block_size = 256;
  int batch_size = 16;
  int64_t steps = 3000;
  int n_experts = 8;
  std::string precision = "fp32";
};

// Every preset, the CPU quick start first.
const std::vector<Preset>& presets();
// The preset called `name`; Error listing the names when there is none.
const Preset& find_preset(const std::string& name);
// Sets what the preset sets (model size, steps, batch, experts, device, precision) in `c`.
void apply_preset(const Preset& p, RunConfig& c);

// What a run of `c` over k domains costs.
struct RunEstimate {
  int64_t specialist_params = 0;  // one instantiated model
  int64_t trained_params = 0;     // the whole bank (S, experts, coefficient network)
  int64_t tokens = 0;             // steps x batch x context
  double tokens_per_param = 0;    // tokens per specialist parameter
  uint64_t memory_bytes = 0;      // estimate_training_bytes
  double tokens_per_second = 0;   // the throughput the time rests on (0: unknown)
  double seconds = 0;             // tokens / tokens_per_second (0: unknown)
  bool measured = false;          // throughput measured on this machine, not a roofline estimate
  std::string basis;              // where the throughput comes from, for people
};

// Size, tokens and memory of `c`, and its time at `tokens_per_second` (0: time unknown).
RunEstimate estimate_run(const RunConfig& c, int k, double tokens_per_second, bool measured,
                         const std::string& basis);

// Training tokens per second of `c` on one 80 GB data-centre GPU (H100 class) from the
// roofline of docs/GPU.md: the step's FLOPs at 35 % of the bf16 (or 15 % of the fp32) peak,
// plus the bank's memory traffic at 3 TB/s. An estimate until scripts/gpu-check.sh measures it.
double roofline_gpu_tokens_per_second(const RunConfig& c, int k);

// Training FLOPs per token of `c`'s model (6 per parameter, plus causal attention's products).
double training_flops_per_token(const ModelConfig& m);

// Measures `c`'s training throughput here: trains it for a few steps (warm-up excluded) on a
// scratch corpus of random bytes over k domains, on c.train.device with c.train.threads, for
// about `seconds`, in a temporary folder with its own run log (nothing of the user's is touched).
// Returns tokens per second; Error if the run cannot start (e.g. too large for this machine).
double probe_training_throughput(const RunConfig& c, int k, double seconds = 8.0);

// estimate_run at the throughput measured here by probe_training_throughput (about `seconds`)
// where c's device exists; for a CUDA run without a GPU, at the roofline's, said so in basis.
RunEstimate estimate_on_this_machine(const RunConfig& c, int k, double seconds = 6.0);

// "0.86 M parameters (bank 7.8 M), 12.3 M tokens (14 per parameter), ~1.2 GiB, ~18 min at 11,000
// tokens/s measured here" and the like, one line.
std::string describe_estimate(const RunEstimate& e);

}  // namespace souplab
