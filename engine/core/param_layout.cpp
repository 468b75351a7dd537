#include "souplab/param_layout.h"

#include <cmath>

#include "souplab/error.h"

namespace souplab {

const ParamEntry& ParamLayout::at(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return e;
  throw Error("parameter layout: no tensor named \"" + name + "\"");
}

ParamLayout gpt_param_layout(const ModelConfig& c) {
  validate(c);
  ParamLayout layout;
  const int64_t C = c.n_embd;
  // GPT-2 scales the init of residual projections by 1/sqrt(2 * n_layer).
  const double proj_std = 0.02 / std::sqrt(2.0 * c.n_layer);
  auto add = [&](std::string name, std::vector<int64_t> shape, ParamInit init, double std,
                 bool decay) {
    ParamEntry e;
    e.name = std::move(name);
    e.shape = std::move(shape);
    e.numel = 1;
    for (int64_t d : e.shape) e.numel *= d;
    e.offset = layout.total;
    e.init = init;
    e.init_std = std;
    e.decay = decay;
    layout.total += e.numel;
    layout.entries.push_back(std::move(e));
  };
  auto norm = [&](const std::string& prefix) {
    add(prefix + ".weight", {C}, ParamInit::kOnes, 0, false);
    add(prefix + ".bias", {C}, ParamInit::kZeros, 0, false);
  };
  auto linear = [&](const std::string& prefix, int64_t in, int64_t out, double std) {
    add(prefix + ".weight", {in, out}, ParamInit::kNormal, std, true);
    add(prefix + ".bias", {out}, ParamInit::kZeros, 0, false);
  };
  add("wte.weight", {c.vocab_size, C}, ParamInit::kNormal, 0.02, true);
  add("wpe.weight", {c.block_size, C}, ParamInit::kNormal, 0.01, true);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string h = "h." + std::to_string(i);
    norm(h + ".ln_1");
    linear(h + ".attn.c_attn", C, 3 * C, 0.02);
    linear(h + ".attn.c_proj", C, C, proj_std);
    norm(h + ".ln_2");
    linear(h + ".mlp.c_fc", C, 4 * C, 0.02);
    linear(h + ".mlp.c_proj", 4 * C, C, proj_std);
  }
  norm("ln_f");
  return layout;
}

int64_t expert_size(const ParamLayout& layout, int rank) {
  if (rank <= 0) return layout.total;
  int64_t q = 0;
  for (const auto& e : layout.entries)
    q += e.shape.size() == 2 ? int64_t(rank) * (e.shape[0] + e.shape[1]) : e.numel;
  return q;
}

ParamCounts param_counts(const ModelConfig& m, const BankConfig& b, int n_domains) {
  validate(m);
  validate(b);
  const int64_t V = m.vocab_size, T = m.block_size, L = m.n_layer, C = m.n_embd;
  ParamCounts pc;
  pc.base = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
  pc.shared = pc.base;
  pc.per_expert = b.n_experts == 0 ? 0 : b.expert_rank > 0 ? expert_size(gpt_param_layout(m), b.expert_rank) : pc.base;
  pc.experts = int64_t(b.n_experts) * pc.per_expert;
  const int64_t k = n_domains, H = b.coef_hidden, n = b.n_experts;
  pc.coef_mlp = n > 0 ? k * H + H + H * n + n : 0;
  pc.total = pc.shared + pc.experts + pc.coef_mlp;
  pc.instantiated = pc.base;
  pc.active = pc.base;
  return pc;
}

bool is_moe_block(const MoeConfig& moe, int layer) { return (layer + 1) % moe.every == 0; }

int moe_block_count(const ModelConfig& m, const MoeConfig& moe) { return m.n_layer / moe.every; }

ParamCounts moe_param_counts(const ModelConfig& m, const MoeConfig& moe) {
  validate(m);
  validate(moe);
  const int64_t V = m.vocab_size, T = m.block_size, L = m.n_layer, C = m.n_embd;
  const int64_t E = moe.n_experts, Lm = moe_block_count(m, moe);
  const int64_t mlp = 8 * C * C + 5 * C;  // c_fc (C, 4C) + 4C, c_proj (4C, C) + C
  ParamCounts pc;
  pc.base = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
  pc.shared = pc.base - Lm * mlp;
  pc.per_expert = Lm * mlp;
  pc.experts = E * pc.per_expert;
  pc.router = Lm * C * E;
  pc.total = pc.shared + pc.experts + pc.router;
  pc.instantiated = pc.total;
  pc.active = pc.shared + int64_t(moe.top_k) * pc.per_expert + pc.router;
  return pc;
}

ParamCounts param_counts(const RunConfig& c, int n_domains) {
  if (c.train.kind == ModelKind::kMoe) return moe_param_counts(c.model, c.moe);
  BankConfig b = c.bank;
  if (c.train.kind == ModelKind::kDense) b.n_experts = 0;
  return param_counts(c.model, b, n_domains);
}

}  // namespace souplab
