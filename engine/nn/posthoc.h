#pragma once
// The forward-pass adapters of the post-hoc methods (docs/DESIGN.md §1.3, §1.4) and their tensors.
// Module index m = layer * kLinearSites + site, for every linear layer of every block.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "engine/nn/gpt.h"

namespace souplab {

// (in, out) of a linear site for width C.
std::pair<int64_t, int64_t> linear_site_shape(LinearSite s, int64_t C);
std::string module_name(int layer, LinearSite s);  // "h.0.attn.c_attn"

// One LoRA expert: delta(x) = (x A) B / r on every linear layer; A (in, r), B (r, out).
struct LoraExpert {
  std::vector<torch::Tensor> A, B;  // per module
  int rank = 0;
  // A ~ N(0, 1/in) (so x A keeps x's scale), B = 0: the expert starts equal to the base.
  static LoraExpert init(const ModelConfig& c, int rank, const torch::Device& device, uint64_t seed);
  torch::Tensor delta(size_t module, const torch::Tensor& x) const;  // (N, out)
  std::vector<torch::Tensor> tensors() const;                        // A..., B...
};

// Fixed mixture of LoRA experts, each output optionally scaled per token by a PHATGOOSE gate
// sigmoid(x . v). One expert with weight 1: an expert model; all with 1/n: merged experts.
class LoraMixAdapter final : public GptAdapter {
 public:
  LoraMixAdapter(std::vector<const LoraExpert*> experts, std::vector<double> weights)
      : experts_(std::move(experts)), weights_(std::move(weights)) {}
  // gates[m]: (in) for the single expert (gate training); empty = no gate.
  std::vector<torch::Tensor> gates;
  // When set, the mean input of every module is accumulated here (prototype routing).
  mutable std::vector<torch::Tensor>* input_sums = nullptr;
  torch::Tensor linear(int layer, LinearSite site, const torch::Tensor& x,
                       const torch::Tensor& y) const override;

 private:
  std::vector<const LoraExpert*> experts_;
  std::vector<double> weights_;
};

// Standardisation without affine parameters over the last dimension: LN(u) in PHATGOOSE's score.
torch::Tensor standardize(const torch::Tensor& u);

// Per-token top-k routing among LoRA experts (PHATGOOSE and its prototype/Arrow baselines):
// score_i = LN(u) . LN(v_i) / sqrt(d) (|.| for Arrow, whose vectors have no sign), softmax over
// experts, keep the top k, renormalise, mix those experts' LoRA outputs.
class RoutedLoraAdapter final : public GptAdapter {
 public:
  // vectors[m]: (n, in) routing vector of each expert for module m.
  RoutedLoraAdapter(std::vector<LoraExpert> experts, std::vector<torch::Tensor> vectors, int top_k,
                    bool absolute_scores);
  torch::Tensor linear(int layer, LinearSite site, const torch::Tensor& x,
                       const torch::Tensor& y) const override;
  // Mixing weights (N, n) of module m for inputs x (N, in): zero outside each token's top k.
  torch::Tensor routing_weights(size_t module, const torch::Tensor& x) const;

 private:
  std::vector<LoraExpert> experts_;
  std::vector<torch::Tensor> vectors_;             // standardised, (n, in)
  std::vector<torch::Tensor> A_cat_, B_stack_;     // (in, n*r), (n, r, out)
  int top_k_;
  bool abs_;
};

// WEMoE: every MLP's weights for a token are theta_0 + sum_i r_i tau_i, with the router
// r = lambda + W2 relu(W1 mean(m) + b1) + b2 fed the mean of the MLP inputs m (ln_2's output)
// over the sequence so far. Averaging over the prefix, not the whole sequence, keeps the model
// causal (a whole-sequence mean would let each token's loss see the tokens after it). W2, b2
// start at zero, so the model starts equal to task arithmetic. The MLP output is computed as
// m W0 + sum_i r_i (m tau_i): linear in the weights, so equal to using the mixed weights.
class WemoeAdapter final : public GptAdapter {
 public:
  struct Layer {
    torch::Tensor fc_w0, fc_b0, proj_w0, proj_b0;  // theta_0's MLP
    torch::Tensor tau_fc_w, tau_fc_b;              // (C, n*4C), (n, 4C)
    torch::Tensor tau_proj_w, tau_proj_b;          // (4C, n*C), (n, C)
    torch::Tensor w1, b1, w2, b2;                  // router: (C, H), (H), (H, n), (n)
  };
  WemoeAdapter(std::vector<Layer> layers, double lambda) : layers_(std::move(layers)), lambda_(lambda) {}
  torch::Tensor mlp(int layer, const torch::Tensor& m, const GptWeights::Block& b, int64_t past,
                    torch::Tensor* state) const override;
  // The router's coefficients r (B*T, n) for the MLP inputs m (B, T, C), as mlp() computes them
  // (state and past likewise; state is advanced).
  torch::Tensor routing(int layer, const torch::Tensor& m, int64_t past, torch::Tensor* state) const;
  std::vector<Layer>& layers() { return layers_; }
  const std::vector<Layer>& layers() const { return layers_; }
  double lambda() const { return lambda_; }
  // Builds the layers from theta_0 and the experts' thetas; routers initialised from `seed`.
  static std::vector<Layer> make_layers(const torch::Tensor& theta0, const std::vector<torch::Tensor>& experts,
                                        const ModelConfig& c, int hidden, uint64_t seed);
  std::vector<std::pair<std::string, torch::Tensor>> router_tensors();

 private:
  std::vector<Layer> layers_;
  double lambda_;
};

// Named tensors to and from a safetensors file (F32), written atomically.
void save_tensor_map(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& t,
                     const std::map<std::string, std::string>& metadata = {});
std::map<std::string, torch::Tensor> load_tensor_map(const std::string& path, const torch::Device& device);

// LoRA expert tensors named "<prefix>h.<l>.<site>.lora_A|lora_B".
void add_lora_tensors(const LoraExpert& e, const ModelConfig& c, const std::string& prefix,
                      std::vector<std::pair<std::string, torch::Tensor>>* out);
LoraExpert lora_from_tensors(const std::map<std::string, torch::Tensor>& t, const ModelConfig& c,
                             const std::string& prefix, const std::string& source);

// The n LoRA experts "expert.<i>." of a tensors file (a LoRA experts folder's, PHATGOOSE's).
std::vector<LoraExpert> load_lora_experts(const std::string& file, size_t n, const ModelConfig& c,
                                          const torch::Device& device);
// The thetas of a full experts folder (its manifest's "dirs"), each checked against config `c`.
std::vector<torch::Tensor> load_full_experts(const std::string& dir, const ModelConfig& c,
                                             const torch::Device& device);
// theta_0 + lambda * sum_i (theta_i - theta_0), a new tensor.
torch::Tensor task_arithmetic(const torch::Tensor& theta0, const std::vector<torch::Tensor>& experts,
                              double lambda);

}  // namespace souplab
