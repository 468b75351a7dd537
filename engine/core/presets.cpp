#include "souplab/presets.h"

#include <cmath>
#include <cstdio>

#include "engine/core/memory_estimate.h"
#include "souplab/error.h"
#include "souplab/param_layout.h"

namespace souplab {
namespace {

// The roofline's machine (docs/GPU.md): one 80 GB H100-class GPU.
constexpr double kGpuBf16Peak = 989e12;    // dense bf16 FLOP/s (tensor cores)
constexpr double kGpuFp32Peak = 67e12;     // float32 without tensor cores (TF32 stays off)
constexpr double kGpuBf16Share = 0.35;     // of the peak a small GPT reaches (llm.c-class: 40 %)
constexpr double kGpuFp32Share = 0.5;
constexpr double kGpuBytesPerSecond = 3.0e12;  // HBM3 at ~90 % of 3.35 TB/s

std::vector<Preset> make_presets() {
  std::vector<Preset> out;
  {
    Preset p;
    p.name = "quick";
    p.title = "CPU quick start (~5 min, ~10 with its dense baseline)";
    p.device = "cpu";
    p.hours = 5.0 / 60;
    p.sized_by = "the default: 2 layers of width 64, where the soup beats the equal-budget dense model at every "
                 "seed (docs/RESULTS.md)";
    p.n_layer = 2, p.n_embd = 64, p.n_head = 4, p.block_size = 256, p.batch_size = 16;
    p.steps = TrainConfig{}.steps;
    out.push_back(p);
  }
  {
    Preset p;
    p.name = "cpu-night";
    p.title = "CPU overnight (~8 h on 2 cores)";
    p.device = "cpu";
    p.hours = 8;
    p.sized_by = "4 layers of width 128 (0.86 M parameters) for 75,000 steps: ~360 tokens per parameter, deep in "
                 "the capacity-bound regime where the soup's margin over dense grows (the size ladder in "
                 "docs/RESULTS.md)";
    p.n_layer = 4, p.n_embd = 128, p.n_head = 4, p.block_size = 256, p.batch_size = 16;
    p.steps = 75000;
    out.push_back(p);
  }
  {
    Preset p;
    p.name = "gpu-30min";
    p.title = "One GPU, 30 minutes (80 GB, bf16)";
    p.device = "cuda";
    p.hours = 0.5;
    p.sized_by = "8 layers of width 512, context 512 (26 M parameters): ~3.2 G tokens in 30 min at the "
                 "roofline of docs/GPU.md, ~120 per parameter (an estimate until scripts/gpu-check.sh has run)";
    p.n_layer = 8, p.n_embd = 512, p.n_head = 8, p.block_size = 512, p.batch_size = 64;
    p.steps = 98000;
    p.precision = "bf16";
    out.push_back(p);
  }
  {
    Preset p;
    p.name = "gpu-8h";
    p.title = "One GPU, 8 hours (80 GB, bf16)";
    p.device = "cuda";
    p.hours = 8;
    p.sized_by = "12 layers of width 768, context 1024 (86 M parameters, the paper's scale), 16 experts (the "
                 "bank, its gradients and moments: ~23 GB): ~13 G tokens in 8 h at the roofline of docs/GPU.md "
                 "(an estimate until scripts/gpu-check.sh has run)";
    p.n_layer = 12, p.n_embd = 768, p.n_head = 12, p.block_size = 1024, p.batch_size = 32;
    p.n_experts = 16;
    p.steps = 410000;  // 13.4 G tokens: 8.0 h at the roofline's 467 k tokens/s
    p.precision = "bf16";
    out.push_back(p);
  }
  return out;
}

std::string thousands(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string s = buf, out;
  const size_t digits = s.size() - (s[0] == '-' ? 1 : 0);
  for (size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    const size_t left = s.size() - 1 - i;
    if (left > 0 && left % 3 == 0 && digits > 3 && !(s[0] == '-' && i == 0)) out += ',';
  }
  return out;
}

std::string millions(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.1f G", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.*f M", v >= 1e7 ? 0 : 2, v / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f k", v / 1e3);
  return buf;
}

std::string duration(double s) {
  char buf[32];
  if (s < 90)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 5400)
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = make_presets();
  return all;
}

const Preset& find_preset(const std::string& name) {
  std::string names;
  for (const auto& p : presets()) {
    if (p.name == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw Error("no preset \"" + name + "\" (presets: " + names + ")");
}

void apply_preset(const Preset& p, RunConfig& c) {
  c.model.n_layer = p.n_layer;
  c.model.n_embd = p.n_embd;
  c.model.n_head = p.n_head;
  c.model.block_size = p.block_size;
  c.train.batch_size = p.batch_size;
  c.train.steps = p.steps;
  if (c.bank.n_experts > 0) c.bank.n_experts = p.n_experts;  // a dense baseline stays dense
  c.train.device = p.device;
  c.train.precision = p.precision;
}

double training_flops_per_token(const ModelConfig& m) {
  const double P = double(param_counts(m, BankConfig{0}, 0).base);
  // Causal attention: q k^T and p v over on average T/2 keys, 2 FLOPs a product, x3 for the
  // backward: 6 T C per layer and token.
  return 6.0 * P + 6.0 * double(m.n_layer) * double(m.block_size) * double(m.n_embd);
}

double roofline_gpu_tokens_per_second(const RunConfig& c, int k) {
  const ParamCounts pc = param_counts(c, k);
  const double tokens = double(c.train.batch_size) * double(c.model.block_size);
  const bool bf16 = c.train.precision == "bf16";
  const double compute_s =
      training_flops_per_token(c.model) * tokens / (bf16 ? kGpuBf16Peak * kGpuBf16Share : kGpuFp32Peak * kGpuFp32Share);
  // The bank's passes per step (docs/GPU.md): instantiation reads S and E, alpha's gradient E
  // again, the fused experts' step E, m, v in and out plus the G groups' dL/dtheta, S's AdamW.
  const double n = c.bank.n_experts, P = double(pc.base), G = h_groups_per_step(c.train);
  const double bank_bytes = 4.0 * P * (c.bank.n_experts > 0 ? (1 + n) + n + 6 * n + G + 6 : 8);
  const double step_s = compute_s + bank_bytes / kGpuBytesPerSecond;
  return tokens / step_s;
}

RunEstimate estimate_run(const RunConfig& c, int k, double tokens_per_second, bool measured,
                         const std::string& basis) {
  RunEstimate e;
  const ParamCounts pc = param_counts(c, k);
  e.specialist_params = pc.instantiated;
  e.trained_params = pc.total;
  e.tokens = c.train.steps * int64_t(c.train.batch_size) * int64_t(c.model.block_size);
  e.tokens_per_param = pc.instantiated > 0 ? double(e.tokens) / double(pc.instantiated) : 0;
  e.memory_bytes = estimate_training_bytes(c, k);
  e.tokens_per_second = tokens_per_second;
  e.seconds = tokens_per_second > 0 ? double(e.tokens) / tokens_per_second : 0;
  e.measured = measured;
  e.basis = basis;
  return e;
}

std::string describe_estimate(const RunEstimate& e) {
  std::string s = millions(double(e.specialist_params)) + " parameters";
  if (e.trained_params > e.specialist_params) s += " (bank " + millions(double(e.trained_params)) + ")";
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.0f", e.tokens_per_param);
  s += ", " + millions(double(e.tokens)) + " tokens (" + ratio + " per parameter), ~" + format_bytes(e.memory_bytes);
  if (e.seconds > 0)
    s += ", ~" + duration(e.seconds) + " at " + thousands(e.tokens_per_second) + " tokens/s " +
         (e.measured ? "measured here" : "(estimate)");
  if (!e.basis.empty()) s += " [" + e.basis + "]";
  return s;
}

}  // namespace souplab
