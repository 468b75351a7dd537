// libFuzzer target: the torch-free half of load_checkpoint (parse_safetensors followed by
// parse_checkpoint_metadata, the checks made before any tensor is allocated).
#include <cstdint>
#include <cstdlib>

#include "engine/core/checkpoint_meta.h"
#include "souplab/error.h"
#include "souplab/param_layout.h"
#include "engine/core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  try {
    const SafetensorsFile f = parse_safetensors(data, size, "<fuzz>");
    const CheckpointMetadata m = parse_checkpoint_metadata(f);
    // What the loader relies on after these checks.
    if (m.n_domains < 1 || size_t(m.n_domains) != m.state.domains.size()) std::abort();
    if (m.state.step < 0) std::abort();
    const ParamCounts pc = param_counts(m.state.config, m.n_domains);
    if (size_t(pc.total) * 4 > size) std::abort();  // the bank never exceeds the file
  } catch (const Error&) {
  }
  return 0;
}
