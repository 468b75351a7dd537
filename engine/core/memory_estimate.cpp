#include "engine/core/memory_estimate.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>

#include "souplab/error.h"
#include "souplab/param_layout.h"

namespace souplab {

uint64_t estimate_training_bytes(const RunConfig& c, int k) {
  const ParamCounts pc = param_counts(c, k);
  const double B = c.train.batch_size, T = c.model.block_size, C = c.model.n_embd;
  const double L = c.model.n_layer, H = c.model.n_head, V = c.model.vocab_size;
  const double P = double(pc.base);
  const bool moe = c.train.kind == ModelKind::kMoe;
  // A MoE also stores the dense layout's (unused) MLPs of its MoE blocks, so count P on top.
  const double bank = 4.0 * (double(pc.total) + (moe ? double(pc.per_expert) : 0.0));
  const double theta = 2.0 * P;                // instantiated theta and its gradient
  // Attention is fused on every path a run takes (engine/nn/causal_attention on the CPU, libtorch's
  // scaled_dot_product_attention on a GPU): no (T, T) scores are kept, only a log-sum-exp per row.
  double activations = L * (34.0 * B * T * C + B * H * T) + 3.0 * B * T * V;
  if (moe)  // capacity-padded expert buffers: in (C), hidden (2 x 4C), out (C), ~cf * k tokens each
    activations += double(moe_block_count(c.model, c.moe)) * c.moe.capacity_factor_train *
                   c.moe.top_k * B * T * 10.0 * C;
  const double bytes = 4.0 * (bank + theta + activations);
  if (!(bytes < 1.8e19)) return std::numeric_limits<uint64_t>::max();
  return uint64_t(bytes);
}

uint64_t available_memory_bytes() {
  if (const char* v = std::getenv("SOUPLAB_MEMORY_LIMIT_BYTES"); v && *v) {
    char* end = nullptr;
    const unsigned long long x = std::strtoull(v, &end, 10);
    if (end && *end == '\0') return x;
  }
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    unsigned long long kib = 0;
    if (fields >> kib) return uint64_t(kib) * 1024;
  }
  return 0;
}

bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return true;
  const std::string what = e.what();
  return what.find("out of memory") != std::string::npos || what.find("can't allocate memory") != std::string::npos;
}

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  const double b = double(bytes);
  if (b >= 1024.0 * 1024 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f TiB", b / (1024.0 * 1024 * 1024 * 1024));
  else if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", b / (1024.0 * 1024));
  return buf;
}

std::string check_training_memory(const RunConfig& c, int k, const std::string& what, const std::string& device,
                                  uint64_t have) {
  const uint64_t need = estimate_training_bytes(c, k);
  const std::string summary = "memory: about " + format_bytes(need) + " for training, " +
                              (have ? format_bytes(have) : std::string("an unknown amount")) + " available on " + device;
  if (have == 0 || need <= have) return summary;
  const ParamCounts pc = param_counts(c, k);
  throw Error(what + ": this config needs about " + format_bytes(need) +
              " of memory to train (bank of " + std::to_string(pc.total) +
              " parameters with gradients and AdamW moments, plus activations for batch " +
              std::to_string(c.train.batch_size) + " x context " +
              std::to_string(c.model.block_size) + ") but only " + format_bytes(have) +
              " are available on " + device + "; lower --width, --layers, --experts, --batch or --context");
}

}  // namespace souplab
