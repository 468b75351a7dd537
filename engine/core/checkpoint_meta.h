#pragma once
// The torch-free half of reading a checkpoint (engine/nn/checkpoint.h): the metadata of a
// SoupLab checkpoint file, checked before any tensor is allocated. Fuzzed (fuzz/) through
// parse_checkpoint_metadata, so a malformed file is an Error naming it, never a crash or a
// huge allocation.
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "engine/core/safetensors.h"

namespace souplab {

inline constexpr int kCheckpointFormatVersion = 1;
inline constexpr const char* kCheckpointFormatName = "souplab-checkpoint";

struct TrainState {
  RunConfig config;
  std::vector<std::string> domains;
  int64_t step = 0;
  int64_t run_id = 0;
  std::string run_name;
  std::string sampler_state;   // BatchSampler::state()
  double elapsed_s = 0;        // training time so far, pauses excluded
  std::string corpus_hash;     // TokenCache::content_hash() at training time
  std::string run_log_path;    // where the run is logged
};

struct CheckpointMetadata {
  TrainState state;
  int n_domains = 0;           // k, equal to state.domains.size()
  bool has_optimizer = false;
  int64_t optimizer_step = 0;
};

// Reads and checks the metadata of `f` (a parsed safetensors file): format name and version,
// a valid config, the domain list, step and counters; and that the file's F32 tensors hold at
// least as many floats as the config's bank (and optimiser moments) need, so a forged config
// cannot make the loader allocate more than the file holds. Error "<source>: <problem>".
CheckpointMetadata parse_checkpoint_metadata(const SafetensorsFile& f);

}  // namespace souplab
