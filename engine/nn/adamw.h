#pragma once
// AdamW (Loshchilov & Hutter) over a fixed list of tensors, written out so that its whole state
// is a few named tensors plus a step count: checkpoints save it exactly, and resume is bit-exact.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace souplab {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
};

class AdamW {
 public:
  // decay_masks[i]: undefined = no decay, else a tensor broadcastable to params[i] (1 = decay).
  AdamW(std::vector<torch::Tensor> params, std::vector<torch::Tensor> decay_masks, AdamWOptions o);

  // One update with learning rate lr from the params' .grad().
  void step(double lr);
  void zero_grad();

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  // exp_avg and exp_avg_sq, in params' order.
  std::vector<torch::Tensor>& exp_avg() { return m_; }
  std::vector<torch::Tensor>& exp_avg_sq() { return v_; }

 private:
  std::vector<torch::Tensor> params_, masks_, m_, v_;
  AdamWOptions o_;
  int64_t step_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace souplab
