#pragma once
// How much memory a training run needs, estimated from its config before anything is
// allocated, so a config too large for the machine is refused with the estimate in the message
// instead of dying in the allocator (or being killed by the OOM killer) minutes later.
#include <cstdint>
#include <exception>
#include <string>

#include "souplab/config.h"

namespace souplab {

// Bytes a training run of `c` over `k` domains needs, roughly (float32 everywhere):
//   bank: (n+1)P + coef MLP floats, each with its gradient and two AdamW moments (x4);
//   the instantiated theta and its gradient (2P);
//   activations kept for backward: per layer ~34 B*T*C (layer norms, qkv, attention output,
//   MLP 4C in and out, residuals) + B*heads*T (the fused attention's log-sum-exp; no T x T
//   scores are kept), plus 3 B*T*V for the logits, their softmax and gradient.
// An estimate, not a bound: it is meant to be within a factor ~2 of the peak, which is enough
// to refuse configs that cannot fit. Saturates at UINT64_MAX.
uint64_t estimate_training_bytes(const RunConfig& c, int k);

// MemAvailable from /proc/meminfo in bytes; 0 if it cannot be read (then nothing is refused).
// SOUPLAB_MEMORY_LIMIT_BYTES, when set, replaces it (tests, or to cap a shared machine).
uint64_t available_memory_bytes();

// Throws Error "<what>: needs about X GiB ... but only Y GiB are available on <device>" when the
// estimate exceeds `available` (a GPU's free memory for "cuda:i"; 0 = unknown, nothing refused).
// `what` names the run (e.g. "train" or a checkpoint path). Returns the line a front end shows:
// "about X for training, Y available on <device>".
std::string check_training_memory(const RunConfig& c, int k, const std::string& what,
                                  const std::string& device = "cpu",
                                  uint64_t available = available_memory_bytes());

// True when `e` is an allocation failure: std::bad_alloc, libtorch's CPU allocator ("can't
// allocate memory") or a device's ("CUDA out of memory"), in either libtorch version.
bool is_out_of_memory(const std::exception& e);

// "1.23 GiB", "456 MiB": for messages.
std::string format_bytes(uint64_t bytes);

}  // namespace souplab
