#pragma once
// The sparse mixture-of-experts (docs/DESIGN.md §1.2; Switch, GShard; Fedus, Dean, Zoph 2022): the base
// GPT with the MLP of every `every`-th block replaced by E expert MLPs and a router.
// Token-choice top-k routing with a float32 softmax router, a capacity per expert (overflow
// assignments are dropped: the token keeps only its residual for that expert), and the
// load-balancing and router z auxiliary losses. Dispatch is vectorised: positions in capacity
// come from a cumsum over one-hot choices, tokens are gathered into capacity-padded (E, cap, C)
// buffers, and the experts run as two batched matmuls (baddbmm) over E.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "souplab/config.h"
#include "souplab/param_layout.h"
#include "engine/nn/gpt.h"
#include "engine/nn/trainable_model.h"

namespace souplab {

// Slots per expert for `tokens` tokens: ceil(cf * k * tokens / E), at least 1.
int64_t expert_capacity(int64_t tokens, int n_experts, int top_k, double capacity_factor);

// The routing decision for N tokens.
struct MoeRouting {
  torch::Tensor logits;    // (N, E) float32 router logits
  torch::Tensor probs;     // (N, E) softmax of the logits
  torch::Tensor expert;    // (N, k) int64: chosen experts, best first
  torch::Tensor gate;      // (N, k): prob of the choice; for k = 2 renormalised over the pair
  torch::Tensor position;  // (N, k) int64: place in the expert's buffer (first choices first)
  torch::Tensor keep;      // (N, k) bool: position < capacity
  int64_t capacity = 0;
};

// x (N, C), router_w (C, E). First choices of all tokens take slots before any second choice
// (GShard's priority), and within a choice rank earlier tokens come first.
MoeRouting route_tokens(const torch::Tensor& x, const torch::Tensor& router_w, int top_k,
                        double capacity_factor);

// The experts' MLPs applied to the routed tokens, combined with their gates: (N, C). Dropped
// assignments contribute nothing (the block's residual carries the token). fc_w (E, C, 4C),
// fc_b (E, 4C), proj_w (E, 4C, C), proj_b (E, C).
torch::Tensor dispatch_experts(const torch::Tensor& x, const MoeRouting& r, const torch::Tensor& fc_w,
                               const torch::Tensor& fc_b, const torch::Tensor& proj_w,
                               const torch::Tensor& proj_b);

// Switch's load-balancing loss coef * E * sum_i f_i * P_i, with f_i the fraction of tokens whose
// first choice is expert i and P_i the mean router probability of i. Its minimum, under
// perfectly uniform routing, is coef.
torch::Tensor load_balancing_loss(const MoeRouting& r, double coef);
// coef * mean over tokens of logsumexp(logits)^2 (ST-MoE): keeps router logits small.
torch::Tensor router_z_loss(const MoeRouting& r, double coef);

// What one forward pass measured, summed over its MoE blocks (tensors on the model's device).
struct MoeForwardStats {
  torch::Tensor balance_loss;  // sum over MoE blocks (what training adds)
  torch::Tensor z_loss;        // sum over MoE blocks
  torch::Tensor dropped;       // assignments over capacity, summed over blocks (float64)
  torch::Tensor assigned;      // assignments made (N * k per block), summed (float64)
  std::vector<torch::Tensor> load;  // per MoE block: (E) float64 count of assignments per expert
};

class MoeModel final : public TrainableModel {
 public:
  MoeModel(const ModelConfig& model, const MoeConfig& moe, int n_domains, const torch::Device& device);

  void init(uint64_t seed) override;
  // "theta" (the base model's flat vector; the dense MLPs of MoE blocks in it are unused and
  // stay zero), then per MoE block l: "moe.<l>.router" (C, E), "moe.<l>.fc_w" (E, C, 4C),
  // "moe.<l>.fc_b" (E, 4C), "moe.<l>.proj_w" (E, 4C, C), "moe.<l>.proj_b" (E, C).
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const override;
  std::vector<torch::Tensor> decay_masks() const override;
  int n_domains() const override { return n_domains_; }
  torch::Device device() const override { return theta_.device(); }
  bool trains_on_sampled_h() const override { return false; }
  TrainingLoss training_loss(const std::vector<std::vector<double>>& hs, const torch::Tensor& x,
                             const torch::Tensor& y) const override;
  // Per-domain loss (in loss_uniform, as for dense runs) at the eval capacity factor; `extra`
  // gets per domain "dropped_frac" and per MoE block and expert "expert_load/L<l>/E<e>" (the
  // fraction of the domain's assignments in that block that chose expert e).
  EvalResult evaluate(const std::vector<DomainWindows>& val, int64_t step,
                      std::vector<Metric>* extra) const override;

  // Logits (B, T, V) for idx (B, T) at the given capacity factor; `stats` (may be null) gets
  // the auxiliary losses and counts. With `cache`, runs incrementally like gpt_forward_cached.
  torch::Tensor forward(const torch::Tensor& idx, double capacity_factor, MoeForwardStats* stats,
                        KVCache* cache = nullptr) const;

  const torch::Tensor& theta() const { return theta_; }
  const ModelConfig& model_config() const { return model_; }
  const MoeConfig& moe_config() const { return moe_; }
  const ParamLayout& layout() const { return layout_; }
  const std::vector<int>& moe_layers() const { return moe_layers_; }

 private:
  struct Experts {
    torch::Tensor router, fc_w, fc_b, proj_w, proj_b;
  };
  ModelConfig model_;
  MoeConfig moe_;
  int n_domains_;
  ParamLayout layout_;
  std::vector<int> moe_layers_;  // block indices with experts
  torch::Tensor theta_;          // (P)
  std::vector<Experts> experts_; // one per MoE block
  torch::Tensor theta_decay_mask_;
};

}  // namespace souplab
