#pragma once
// What kind of model a file or a run holds. The kind strings ("soup", "moe", ...) are written in
// checkpoints, config files, export cards and the run log; they are turned into ModelKind and
// back here and nowhere else, so code dispatches on the enum (or on the model's class), never
// on a string.
//
// Adding a kind: one line in SOUPLAB_MODEL_KINDS below (the enum value and its string), one
// class implementing souplab::Model (engine/nn/models/), and the `case` of that kind in
// engine/nn/models/load_model.cpp (the compiler's -Wswitch points at it).
#include <optional>
#include <string>
#include <string_view>

namespace souplab {

// X(enum value, kind string)
#define SOUPLAB_MODEL_KINDS(X)                                                             \
  X(kSoup, "soup")                 /* Soup-of-Experts bank: theta(h) = S + alpha(h)^T E */ \
  X(kDense, "dense")               /* plain dense model (a bank with no experts) */       \
  X(kMoe, "moe")                   /* sparse mixture-of-experts, routed per token */      \
  X(kSpecialist, "specialist")     /* an exported dense model (safetensors folder) */     \
  X(kMerged, "merge")              /* a merge of dense models (linear, TIES, DARE, ...) */ \
  X(kLoraExperts, "lora_experts")  /* post-hoc LoRA experts, one per domain */            \
  X(kFullExperts, "full_experts")  /* post-hoc fully fine-tuned experts, one per domain */ \
  X(kPhatgoose, "phatgoose")       /* per-token routing among LoRA experts */             \
  X(kWemoe, "wemoe")               /* weight-ensembling MoE merge of full experts */

enum class ModelKind {
#define SOUPLAB_MODEL_KIND_ENUM(value, name) value,
  SOUPLAB_MODEL_KINDS(SOUPLAB_MODEL_KIND_ENUM)
#undef SOUPLAB_MODEL_KIND_ENUM
};

// "soup", "dense", ... as stored in files.
const char* model_kind_name(ModelKind kind);
// The kind of a stored string; nullopt for a string no kind has.
std::optional<ModelKind> parse_model_kind(std::string_view name);
// The kinds a training run can have: soup, dense, moe.
bool is_trainable_kind(ModelKind kind);

}  // namespace souplab
