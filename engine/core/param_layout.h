#pragma once
// Where each tensor of the base model lives in the flat parameter vector theta (P floats).
// The soup stores S and every expert E_j in this layout, so instantiation is one
// matrix-vector product over the whole bank and an instantiated model is just theta.
// Names and orientation follow GPT-2 (Conv1D weights are (in, out)), so export is a copy.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/config.h"

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
  int64_t instantiated = 0;  // a specialist (= P)
};

// The closed form P = V*C + T*C + L*(12*C^2 + 13*C) + 2*C, plus the bank on top of it.
ParamCounts param_counts(const ModelConfig& m, const BankConfig& b, int n_domains);

}  // namespace souplab
