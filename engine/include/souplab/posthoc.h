#pragma once
// Post-hoc experts (docs/DESIGN.md §1.3, §1.4), torch-free header for the front ends: per-domain LoRA or
// full fine-tuned experts trained from a generic base, PHATGOOSE (and its baselines) routing
// among the LoRA experts, and WEMoE merging of the full experts. Each result is a folder with a
// manifest.json that Model::load opens, so evaluation, generation and comparison treat it like
// any other model. Every training (expert, gates, router) is a run in the run log, child of the
// base's run.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "souplab/domain_weights.h"

namespace souplab {

struct PosthocProgress {
  std::string stage;  // "expert code_c", "gates code_c", "router", ...
  int64_t step = 0, total_steps = 0;
  double loss = 0;    // mean training loss since the last report
};

// What every post-hoc build shares.
struct PosthocCommon {
  std::string device = "auto";
  std::string run_log_path;        // empty = default_run_log_path()
  std::string corpus_dir;          // empty = the base's corpus
  std::string cache_dir;           // empty = the base's (or the default) token cache
  int batch_size = 8;
  int eval_windows = 8;            // validation windows per domain for the logged losses
  uint64_t seed = 1234;
  bool overwrite = false;          // replace an existing output folder
  std::function<void(const PosthocProgress&)> on_progress;
  std::function<void(const std::string&)> on_message;
  std::function<bool()> should_stop;  // polled once per step; true aborts with Error("stopped")
};

// What a post-hoc expert is: LoRA adapters on every linear layer (base frozen), or a full
// fine-tune of the whole model.
enum class ExpertKind { kLora, kFull };
const char* expert_kind_name(ExpertKind k);                   // "lora" | "full"
bool parse_expert_kind(const std::string& name, ExpertKind* out);  // false if unknown

struct ExpertsOptions : PosthocCommon {
  ExpertKind kind = ExpertKind::kLora;
  int rank = 16;                   // LoRA rank r; the adapter's output is scaled by 1/r
  int64_t steps = 200;             // optimiser steps per expert
  double lr = 0;                   // 0 = 2e-2 for LoRA, 1e-3 for full fine-tuning
  std::vector<std::string> domains;  // experts to train; empty = every domain of the corpus
};

struct ExpertsResult {
  std::string dir;
  std::vector<std::string> domains;
  std::vector<int64_t> run_ids;
  std::vector<double> own_loss_base, own_loss_expert;  // on each expert's own validation windows
};

// base: a dense checkpoint, a soup checkpoint (its training-mixture model is the base) or an
// exported specialist. Writes out_dir atomically: manifest.json + expert files (LoRA) or one
// exported specialist folder per domain (full).
ExpertsResult train_experts(const std::string& base, const std::string& out_dir,
                            const ExpertsOptions& options);

// How PHATGOOSE-style routing scores the LoRA experts. phatgoose: trained gate vectors;
// prototype: mean module input of each expert on its domain; arrow: first singular vector of
// each B·A; merged: the average of the experts (no routing).
enum class Router { kPhatgoose, kPrototype, kArrow, kMerged };
const char* router_name(Router r);                          // as written in manifests
bool parse_router(const std::string& name, Router* out);    // false if unknown

struct PhatgooseOptions : PosthocCommon {
  Router router = Router::kPhatgoose;
  int64_t gate_steps = 100;
  double gate_lr = 1e-2;
  int top_k = 2;
  int prototype_batches = 8;       // batches averaged for the prototypes
};

struct PhatgooseResult {
  std::string dir;
  std::vector<int64_t> run_ids;    // one per expert's gate training (router "phatgoose")
};

PhatgooseResult build_phatgoose(const std::string& lora_experts_dir, const std::string& out_dir,
                                const PhatgooseOptions& options);

struct WemoeOptions : PosthocCommon {
  double lambda = 0.3;             // task-arithmetic scale; the router starts at r_i = lambda
  int64_t steps = 200;
  double lr = 1e-4;                // Adam
  int router_hidden = 0;           // 0 = the model width C
  // The unlabeled target: a text file or a folder of text files...
  std::string target;
  // ...or a mixture of the corpus's domains (their training split).
  DomainWeights target_weights;
};

struct WemoeResult {
  std::string dir;
  int64_t run_id = 0;
  double target_loss_start = 0, target_loss_end = 0;  // LM loss on held-out target windows
};

// full_experts_dir: a folder written by train_experts with kind "full" from the same base.
WemoeResult build_wemoe(const std::string& base, const std::string& full_experts_dir,
                        const std::string& out_dir, const WemoeOptions& options);

}  // namespace souplab
