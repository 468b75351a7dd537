#pragma once
// The Soup-of-Experts bank (docs/DESIGN.md §1.1.1): shared parameters S (P), experts E (n, P) in the
// layout of the base model, and the coefficient MLP alpha = f(h) (k -> hidden -> n, ReLU).
// theta(h) = S + alpha(h)^T E is one matrix-vector product over the whole bank. With n = 0 the
// bank is a plain dense model (theta = S), so dense runs share all of this code. Low-rank
// experts (bank.expert_rank > 0) keep each weight matrix of E_j as U_j V_j (rows of E hold the
// factors), and instantiation sums the products per matrix.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "souplab/config.h"
#include "souplab/param_layout.h"
#include "engine/nn/trainable_model.h"

namespace souplab {

// The columns of theta a bank holds when it is one rank's shard of a bank split along the
// parameter dimension (--shard-bank, docs/DESIGN.md §6.2): S and every E_j for columns
// [begin, begin + length), zero-padded past P so that every rank's shard has the same length;
// the coefficient MLP stays whole on every rank. length 0: the whole bank.
struct ColumnShard {
  int64_t begin = 0, length = 0;
  bool whole() const { return length == 0; }
};

class SoupBank final : public TrainableModel {
 public:
  SoupBank(const ModelConfig& model, const BankConfig& bank, int n_domains,
           const torch::Device& device, ColumnShard shard = {});

  // Random initialisation from `seed` (experts scaled by bank.expert_init_scale). A shard draws
  // the whole bank row by row and keeps its columns: the same values as the unsharded bank.
  void init(uint64_t seed) override;

  // h: (k) float on the bank's device. alpha: (n). theta: (P), differentiable w.r.t. the bank.
  torch::Tensor alpha(const torch::Tensor& h) const;
  torch::Tensor theta(const torch::Tensor& h) const;
  // Several h at once: H (G, k) -> alpha (G, n) -> theta (G, P), with autograd.
  torch::Tensor alphas(const torch::Tensor& H) const;
  torch::Tensor thetas(const torch::Tensor& H) const;
  // theta(h) for inference in `dtype` (float32, bfloat16, float16), without autograd: float32 is
  // theta(h) itself; a lower precision is summed in float32 and written once in it
  // (instantiate_cast; full experts) or cast from theta(h) (low-rank experts, a dense bank).
  torch::Tensor inference_theta(const torch::Tensor& h, torch::ScalarType dtype) const;
  // Logits of the soup at h for idx (B, T).
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& idx) const;

  // Every trained tensor with a stable name ("S", "E", "coef.w1", ...), and the matching AdamW
  // weight-decay mask (broadcastable to the tensor; undefined = no decay, ones = full decay).
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const override;
  std::vector<torch::Tensor> decay_masks() const override;
  std::vector<double> lr_scales(double progress = 0) const override;

  // Soup runs draw h from pi every step; a dense bank (n = 0) trains on the fixed mixture.
  bool trains_on_sampled_h() const override { return bank_.n_experts > 0; }
  // With several h (train.h_per_step), every group of rows runs its own specialist theta(h_g),
  // all instantiated by one (G, n) x (n, P) product; the loss is the mean over all rows.
  // The fused step (full experts, on by default): theta is a leaf of the backward pass, so
  // autograd stops at dL/dtheta (G, P); after_backward forms dL/dS = sum_g dL/dtheta_g and
  // dL/dalpha = dL/dtheta E^T (then the MLP's gradients) and hands E's gradient alpha^T dL/dtheta
  // to AdamW in factored form, never writing the n x P gradient.
  TrainingLoss training_loss(const std::vector<std::vector<double>>& hs, const torch::Tensor& x,
                             const torch::Tensor& y) const override;
  // The bank at the uniform h on every domain, and (soup) each one-hot specialist on its own.
  EvalResult evaluate(const std::vector<DomainWindows>& val, int64_t step,
                      std::vector<Metric>* extra) const override;

  // The fused step's two halves, shared by the whole bank (training_loss) and a rank's column
  // shard (engine/nn/dist/sharded_soup): theta for alphas A (G, n) as a leaf of the backward
  // (S + A E without autograd: the bank's columns for a shard), and, from dL/dtheta D over the
  // same columns, dL/dS = sum_g D_g into S's .grad(), dL/dalpha = D E^T (summed over the ranks by
  // `sum_over_columns` when the columns are split) into the coefficient MLP, and E's gradient
  // A^T D returned in factored form for AdamW, never written.
  torch::Tensor fused_thetas(const torch::Tensor& A) const;
  FactoredGrad fused_backward(const torch::Tensor& A, const torch::Tensor& D,
                              const std::function<void(torch::Tensor&)>& sum_over_columns = {}) const;

  // The mean LM loss of the rows of x, y in theta.size(0) equal consecutive groups, group g run
  // through the specialist theta[g] (G, P).
  torch::Tensor grouped_loss(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& y) const;

  // The fused step (default) or plain autograd through E (the reference; tests compare them).
  void set_fused_step(bool on) { fused_ = on; }
  // training_loss returns a FusedGradient: experts, full rank, the fused step on.
  bool fused_gradient() const override { return bank_.n_experts > 0 && fused_ && blocks_.empty(); }

  const ModelConfig& model_config() const { return model_; }
  const BankConfig& bank_config() const { return bank_; }
  const ParamLayout& layout() const { return layout_; }
  int n_domains() const override { return n_domains_; }
  int n_experts() const { return bank_.n_experts; }
  torch::Device device() const override { return shared_.device(); }
  const ColumnShard& shard() const { return shard_; }
  // A whole-bank tensor (..., P) cut to this bank's columns (itself when the bank is whole).
  torch::Tensor own_columns(const torch::Tensor& row) const;
  // A float (k) tensor of h on the bank's device.
  torch::Tensor h_tensor(const std::vector<double>& h) const;

 private:
  ModelConfig model_;
  BankConfig bank_;
  int n_domains_;
  ParamLayout layout_;
  ColumnShard shard_;
  torch::Tensor shared_;   // (P), or the shard's (length)
  torch::Tensor experts_;  // (n, P); undefined when n = 0
  torch::Tensor w1_, b1_, w2_, b2_;  // coefficient MLP: (H, k), (H), (n, H), (n)
  torch::Tensor theta_decay_mask_;   // (P)
  torch::Tensor expert_decay_mask_;  // (row of E) for low-rank experts

  // Low-rank experts: where each layout entry's expert floats sit in a row of E.
  struct ExpertBlock {
    int64_t numel;          // the entry's floats in theta
    int64_t offset;         // first float of the block in a row of E
    int64_t length;         // its floats in a row of E: r (rows + cols) for a matrix, numel for a vector
    int64_t rows, cols;     // matrix (in x out) factored as U (rows x r) then V (r x cols); 0 = vector
  };
  std::vector<ExpertBlock> blocks_;
  bool fused_ = true;
  // sum_j A[g, j] E_j for A (G, n): (G, P) — one product for full experts, per matrix for low rank.
  torch::Tensor mix_experts(const torch::Tensor& A) const;
};

}  // namespace souplab
