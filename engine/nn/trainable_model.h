#pragma once
// What the trainer needs of a model, whatever its kind: the soup bank (and its dense n = 0
// case) and the sparse MoE both satisfy it, so training, checkpoints and resume are one code
// path for every kind instead of if/else on the kind throughout the trainer.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "souplab/metrics.h"  // EvalResult, Metric
#include "engine/nn/adamw.h"  // FactoredGrad
#include "engine/nn/validation.h"

namespace souplab {

// The soup's fused step (engine/nn/soup.h): autograd stops at each h-group's theta and the
// model completes its own gradients after backward. Only the soup sets it; every other kind
// trains through plain autograd.
struct FusedGradient {
  // Called once after loss.backward(): completes the .grad() the model owns and returns the
  // gradient of parameter `factored_index` (E) in factored form, for AdamW::set_factored_grad.
  std::function<FactoredGrad()> after_backward;
  size_t factored_index = 0;
  // The leaf theta (G, P): after backward its .grad() holds each h-group's dL/dtheta. A
  // data-parallel job sums those rows over the ranks and runs after_backward (alpha's gradient:
  // a read of E) while they travel; parameter `dtheta_sum_index` (S) has the groups' sum of
  // dL/dtheta as its gradient, formed from the summed rows (engine/nn/dist/gradient_sync.h).
  // Undefined for a sharded bank, which sums its columns inside after_backward.
  torch::Tensor dtheta;
  size_t dtheta_sum_index = 0;
};

struct TrainingLoss {
  torch::Tensor loss;  // what backward runs on: the LM loss plus any auxiliary losses
  torch::Tensor lm;    // the LM loss alone, logged as the train "loss" of every kind
  // Detached scalars the trainer averages over its log window and logs as train metrics
  // (the MoE's balance_loss, z_loss, dropped_frac). Same names in the same order every step.
  std::vector<std::pair<std::string, torch::Tensor>> metrics;
  std::optional<FusedGradient> fused;  // the soup's fused step only
};

class TrainableModel {
 public:
  virtual ~TrainableModel() = default;

  // Random initialisation from `seed` (deterministic on every device).
  virtual void init(uint64_t seed) = 0;
  // Every trained tensor with a stable name (the checkpoint's tensor names), and the matching
  // AdamW weight-decay masks (broadcastable; undefined = no decay, ones = full decay).
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const = 0;
  virtual std::vector<torch::Tensor> decay_masks() const = 0;
  // AdamW learning-rate multipliers in named_parameters()' order (empty: 1 for every tensor), at
  // `progress` = step / steps of the run (the soup's experts may warm up over it).
  virtual std::vector<double> lr_scales(double /*progress*/ = 0) const { return {}; }
  virtual int n_domains() const = 0;
  virtual torch::Device device() const = 0;

  // True if every step draws its own domain weights h from pi (the soup); otherwise each step
  // samples its batch from the run's fixed mixture (dense and MoE: the generic mixture).
  virtual bool trains_on_sampled_h() const = 0;
  // Whether training_loss returns TrainingLoss::fused (the soup's fused step), known before the
  // first step so that the trainer chooses its gradient sync once.
  virtual bool fused_gradient() const { return false; }
  // The loss of one batch x, y (B, T), with autograd. The rows come in hs.size() equal,
  // consecutive groups; group g was drawn from mixture hs[g] (one group unless the run draws
  // several h per step, train.h_per_step).
  virtual TrainingLoss training_loss(const std::vector<std::vector<double>>& hs, const torch::Tensor& x,
                                     const torch::Tensor& y) const = 0;
  // Per-domain validation (no autograd). Rows beyond the EvalResult's losses (e.g. the MoE's
  // expert load per domain and layer) are appended to `extra` for the run log.
  virtual EvalResult evaluate(const std::vector<DomainWindows>& val, int64_t step,
                              std::vector<Metric>* extra) const = 0;
};

}  // namespace souplab
