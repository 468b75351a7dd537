#pragma once
// The dense base model as a pure function of its flat parameter vector theta (P floats laid out
// by gpt_param_layout). Dense training, the soup (theta = S + alpha^T E, with autograd) and an
// instantiated specialist all run this one forward, which is why soup-at-h and
// instantiated-model logits agree exactly.
#include <torch/torch.h>

#include <functional>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace souplab {

// Views of theta for each tensor, made once per forward (views cost nothing, keep autograd).
struct GptWeights {
  struct Block {
    torch::Tensor ln_1_w, ln_1_b, attn_w, attn_b, proj_w, proj_b;
    torch::Tensor ln_2_w, ln_2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b;
  };
  torch::Tensor wte, wpe, ln_f_w, ln_f_b;
  std::vector<Block> blocks;
};
GptWeights gpt_weights(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout);
// The weights of G models at once from thetas (G, P), e.g. the soup's specialists of one step;
// backward writes dL/dthetas once.
std::vector<GptWeights> gpt_weights_grouped(const torch::Tensor& thetas, const ModelConfig& c,
                                            const ParamLayout& layout);

// Fills theta in place with GPT-2's initialisation, scaled by `scale` (experts start small),
// using `generator`'s stream. Norm weights start at 1 * ones_value (0 for experts).
void init_params(torch::Tensor theta, const ParamLayout& layout, double scale, double ones_value,
                 torch::Generator generator);

// The four linear layers of a block, in GPT-2's names.
enum class LinearSite { kAttn = 0, kAttnProj = 1, kFc = 2, kMlpProj = 3 };
inline constexpr int kLinearSites = 4;
const char* linear_site_name(LinearSite s);  // "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"

// Optional hooks into the forward pass for post-hoc experts (LoRA deltas, PHATGOOSE routing,
// WEMoE's per-sequence MLP weights; engine/nn/posthoc.h). A plain forward passes nullptr and
// pays one pointer test per linear layer.
struct GptAdapter {
  virtual ~GptAdapter() = default;
  // x: the linear layer's input (N, in) with N = B*T tokens in (B, T) order; y: the base layer's
  // output (N, out). Returns the output to use instead (y itself when the site is not adapted).
  virtual torch::Tensor linear(int layer, LinearSite site, const torch::Tensor& x,
                               const torch::Tensor& y) const {
    (void)layer, (void)site, (void)x;
    return y;
  }
  // Replaces a whole MLP when it returns a defined tensor. m: ln_2's output (B, T, C); returns
  // the MLP output (B, T, C). past: tokens already in the KV cache (0 without one); state: a
  // per-layer slot kept in the cache across calls (nullptr without a cache), for hooks that
  // summarise the whole prefix.
  virtual torch::Tensor mlp(int layer, const torch::Tensor& m, const GptWeights::Block& b,
                            int64_t past, torch::Tensor* state) const {
    (void)layer, (void)m, (void)b, (void)past, (void)state;
    return {};
  }
};

// idx: (B, T) int64 token ids with T <= block_size. Returns logits (B, T, vocab).
torch::Tensor gpt_forward(const torch::Tensor& theta, const ModelConfig& c,
                          const ParamLayout& layout, const torch::Tensor& idx,
                          const GptAdapter* adapter = nullptr);

// The same forward from weights already split out of theta (gpt_weights_grouped).
torch::Tensor gpt_forward(const GptWeights& w, const ModelConfig& c, const torch::Tensor& idx);

// Keys and values of the tokens seen so far, per layer: what makes sampling one token cost one
// token's forward instead of a whole context's.
struct KVCache {
  // Per layer: (B, nh, room, hs) with room >= t (block_size, allocated once and written in
  // place); the first t positions along dim 2 hold the cached keys / values.
  std::vector<torch::Tensor> keys, values;
  int64_t length = 0;                       // t: tokens cached (their positions are 0..t-1)
  std::vector<torch::Tensor> adapter_state;  // per layer, for GptAdapter::mlp
};

// Runs the new tokens idx (B, t_new) at positions cache.length.. and appends them to the cache;
// returns their logits (B, t_new, V). cache.length + t_new must not exceed block_size. Gives the
// same logits as gpt_forward over the whole sequence (up to float rounding).
torch::Tensor gpt_forward_cached(const torch::Tensor& theta, const ModelConfig& c,
                                 const ParamLayout& layout, const torch::Tensor& idx, KVCache& cache,
                                 const GptAdapter* adapter = nullptr);

// Replaces the MLP of some blocks (the MoE's expert layers): given the block index and the
// layer-normed input m (N, C) with N = B*T, returns the MLP output (N, C) to add to the residual,
// or an undefined tensor to run the block's own dense MLP.
using MlpOverride = std::function<torch::Tensor(int layer, const torch::Tensor& m)>;

// gpt_forward (cache null) or gpt_forward_cached with some blocks' MLPs replaced.
torch::Tensor gpt_forward_with_mlp(const torch::Tensor& theta, const ModelConfig& c,
                                   const ParamLayout& layout, const torch::Tensor& idx,
                                   const MlpOverride& mlp, KVCache* cache = nullptr);

// Mean next-token cross-entropy of logits (B, T, V) against targets (B, T).
torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// AdamW decays only matrices and embeddings: a (P) float mask with 1 there, 0 on norms/biases.
torch::Tensor decay_mask(const ParamLayout& layout);

}  // namespace souplab
