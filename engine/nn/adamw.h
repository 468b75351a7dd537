#pragma once
// AdamW (Loshchilov & Hutter) over a fixed list of tensors, written out so that its whole state
// is a few named tensors plus a step count: checkpoints save it exactly, and resume is bit-exact.
// On the CPU the update is one fused pass per tensor (read p, g, m, v once, write p, m, v once):
// the soup's (n+1)·P parameters make the optimiser, not the model, the step's largest extra cost.
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
  // decay_masks[i]: undefined = no decay, else a tensor broadcastable to params[i] (1 = decay)
  // whose elements repeat along params[i]'s leading dimensions (e.g. (P) for E's (n, P)).
  // lr_scales[i] multiplies the step's learning rate (and so the decay) for params[i]; empty
  // means 1 for all (the soup's experts and coefficient network use their own, see config.h).
  AdamW(std::vector<torch::Tensor> params, std::vector<torch::Tensor> decay_masks, AdamWOptions o,
        std::vector<double> lr_scales = {});

  // One update with learning rate lr from the params' .grad(), each gradient multiplied by
  // grad_scale first (the clipping factor, applied on the fly instead of in a separate pass).
  void step(double lr, double grad_scale = 1.0);
  // Drops the gradients (set to none): backward then writes fresh ones instead of adding to zeros.
  void zero_grad();

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  // exp_avg and exp_avg_sq, in params' order.
  std::vector<torch::Tensor>& exp_avg() { return m_; }
  std::vector<torch::Tensor>& exp_avg_sq() { return v_; }

 private:
  void step_fused_cpu(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2);
  void step_tensor_ops(size_t i, double lr, double grad_scale, double bc1, double bc2);

  std::vector<torch::Tensor> params_, masks_, m_, v_;
  std::vector<double> lr_scales_;
  AdamWOptions o_;
  int64_t step_ = 0;
};

// The factor that brings the gradients' global L2 norm down to max_norm (1 when it is already
// below, or when max_norm <= 0), for AdamW::step's grad_scale. `norm` receives the norm.
double grad_clip_scale(const std::vector<torch::Tensor>& params, double max_norm,
                       double* norm = nullptr);

}  // namespace souplab
