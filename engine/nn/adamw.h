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

// The gradient of a parameter of shape (n, P) given in factored form A^T D, with A (G, n) and
// D (G, P): the soup experts' gradient (dL/dE_j = sum_g A[g, j] dL/dtheta_g) as the backward
// pass leaves it, so the n x P gradient is never written to memory (docs/DESIGN.md §1.1.3, the fused soup
// step). G is the number of h per step, usually a few.
struct FactoredGrad {
  torch::Tensor A, D;
  bool defined() const { return A.defined(); }
  // ||A^T D||_F^2 from the G x G Gram matrices, without forming A^T D.
  double squared_norm() const;
  // A^T D materialised: the reference the fused update is tested against, and the path for
  // devices without a fused kernel.
  torch::Tensor materialize() const;
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
  // A parameter given a factored gradient for this step uses that instead of .grad().
  void step(double lr, double grad_scale = 1.0);
  // params[i]'s gradient for the next step() only, as A^T D (see FactoredGrad).
  void set_factored_grad(size_t i, FactoredGrad g);
  // Drops the gradients (set to none): backward then writes fresh ones instead of adding to zeros.
  void zero_grad();

  // New multipliers (one per parameter, as the constructor's) for the steps from now on.
  void set_lr_scales(std::vector<double> lr_scales);

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  // exp_avg and exp_avg_sq, in params' order.
  std::vector<torch::Tensor>& exp_avg() { return m_; }
  std::vector<torch::Tensor>& exp_avg_sq() { return v_; }

 private:
  void step_fused_cpu(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2);
  void step_factored_cpu(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2);
  // The same on a CUDA device (engine/cuda/factored_adamw.cu, in adamw_cuda.cpp); false when
  // this build has no CUDA kernels or the tensors are not float32 on a CUDA device.
  bool step_factored_cuda(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2);
  void step_tensor_ops(size_t i, const torch::Tensor& grad, double lr, double grad_scale, double bc1, double bc2);

  std::vector<torch::Tensor> params_, masks_, m_, v_;
  std::vector<FactoredGrad> factored_;  // per parameter, for the next step only
  std::vector<double> lr_scales_;
  AdamWOptions o_;
  int64_t step_ = 0;
};

// The factor that brings a gradient norm down to max_norm (1 when already below, or max_norm <= 0).
double clip_factor(double norm, double max_norm);

// The factor that brings the gradients' global L2 norm down to max_norm (1 when it is already
// below, or when max_norm <= 0), for AdamW::step's grad_scale. `norm` receives the norm.
// `extra_sq_norm` adds gradients not held in .grad() (a FactoredGrad's squared_norm()).
double grad_clip_scale(const std::vector<torch::Tensor>& params, double max_norm,
                       double* norm = nullptr, double extra_sq_norm = 0);

}  // namespace souplab
