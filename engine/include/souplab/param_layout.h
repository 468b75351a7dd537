#pragma once
// Where each tensor of the base model lives in the flat parameter vector theta (P floats).
// The soup stores S and every expert E_j in this layout, so instantiation is one
// matrix-vector product over the whole bank and an instantiated model is just theta.
// Names and orientation follow GPT-2 (Conv1D weights are (in, out)), so export is a copy.
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/config.h"

namespace souplab {

enum class ParamInit { kNormal, kZeros, kOnes };

struct ParamEntry {
  std::string name;             // GPT-2 name, e.g. "h.0.attn.c_attn.weight"
  std::vector<int64_t> shape;   // e.g. {C, 3C}
  int64_t offset = 0;           // first float in theta
  int64_t numel = 0;
  ParamInit init = ParamInit::kNormal;
  double init_std = 0.02;       // for kNormal
  bool decay = false;           // AdamW weight decay applies (matrices and embeddings)
};

struct ParamLayout {
  std::vector<ParamEntry> entries;
  int64_t total = 0;  // P
  const ParamEntry& at(const std::string& name) const;  // throws Error if absent
};

ParamLayout gpt_param_layout(const ModelConfig& c);

struct ParamCounts {
  int64_t base = 0;          // P: one instantiated model
  int64_t shared = 0;        // S (= P)
  int64_t per_expert = 0;    // each E_j (= P)
  int64_t experts = 0;       // n * P
  int64_t coef_mlp = 0;      // alpha = f(h): k*H + H + H*n + n
  int64_t total = 0;         // everything trained: shared + experts + coef_mlp
  int64_t instantiated = 0;  // a specialist (= P); for a MoE the whole model (all experts ship)
  int64_t router = 0;        // MoE only: the routers' C x E matrices
  int64_t active = 0;        // used per token: P for soup/dense; MoE: shared + k experts + router
};

// Floats of one expert E_j: P for full experts (rank 0); with low-rank experts of rank r, every
// matrix (in x out) of the layout holds r*(in + out) (U_j then V_j) and every vector its own size.
int64_t expert_size(const ParamLayout& layout, int rank);

// The closed form P = V*C + T*C + L*(12*C^2 + 13*C) + 2*C, plus the bank on top of it.
ParamCounts param_counts(const ModelConfig& m, const BankConfig& b, int n_domains);

// True if block `layer` of a MoE model has experts: every `every`-th block, counting from 1
// (every = 2 gives blocks 1, 3, 5, ... as in Switch Transformer).
bool is_moe_block(const MoeConfig& moe, int layer);
int moe_block_count(const ModelConfig& m, const MoeConfig& moe);

// MoE counts (docs/DESIGN.md §1.2): shared = everything but the MoE blocks' MLPs, per_expert = one
// expert's MLPs over all MoE blocks, experts = E of those, router = the routers, total = all of
// it (= instantiated: a MoE ships whole), active = shared + top_k experts + router.
ParamCounts moe_param_counts(const ModelConfig& m, const MoeConfig& moe);

// The counts of a run of any kind (soup, dense, moe) over k domains.
ParamCounts param_counts(const RunConfig& c, int n_domains);

}  // namespace souplab
