#include "engine/nn/adamw.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace souplab {

AdamW::AdamW(std::vector<torch::Tensor> params, std::vector<torch::Tensor> decay_masks,
             AdamWOptions o, std::vector<double> lr_scales)
    : params_(std::move(params)), masks_(std::move(decay_masks)), lr_scales_(std::move(lr_scales)), o_(o) {
  TORCH_CHECK(params_.size() == masks_.size(), "AdamW: one decay mask per parameter");
  if (lr_scales_.empty()) lr_scales_.assign(params_.size(), 1.0);
  TORCH_CHECK(lr_scales_.size() == params_.size(), "AdamW: one learning-rate scale per parameter");
  for (auto& mask : masks_)
    if (mask.defined()) mask = mask.contiguous();
  for (const auto& p : params_) {
    TORCH_CHECK(p.is_contiguous(), "AdamW: parameters must be contiguous");
    m_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous).detach());
    v_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous).detach());
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void AdamW::step(double lr, double grad_scale) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1.0 - std::pow(o_.beta1, double(step_));
  const double bc2 = 1.0 - std::pow(o_.beta2, double(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    if (!p.grad().defined()) continue;
    const double lr_i = lr * lr_scales_[i];
    if (p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && p.grad().is_contiguous())
      step_fused_cpu(i, float(lr_i), float(grad_scale), float(bc1), float(1.0 / std::sqrt(bc2)));
    else
      step_tensor_ops(i, lr_i, grad_scale, bc1, bc2);
  }
}

// p <- p - lr*wd*mask*p;  m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2;
// p <- p - (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps), one element at a time. Each element is
// independent, so the result does not depend on how parallel_for splits the range.
void AdamW::step_fused_cpu(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2) {
  float* pp = params_[i].data_ptr<float>();
  const float* gp = params_[i].grad().data_ptr<float>();
  float* mp = m_[i].data_ptr<float>();
  float* vp = v_[i].data_ptr<float>();
  const float* mask = masks_[i].defined() ? masks_[i].data_ptr<float>() : nullptr;
  const int64_t mask_len = mask ? masks_[i].numel() : 1;
  const float b1 = float(o_.beta1), b2 = float(o_.beta2), eps = float(o_.eps);
  const float step_size = lr / bc1, decay = lr * float(o_.weight_decay);
  at::parallel_for(0, params_[i].numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      // Walk in runs that stay inside one repetition of the mask.
      const int64_t offset = mask ? begin % mask_len : 0;
      const int64_t len = mask && mask_len > 1 ? std::min(end - begin, mask_len - offset) : end - begin;
      float* P = pp + begin;
      const float* G = gp + begin;
      float* M = mp + begin;
      float* V = vp + begin;
      const float* K = mask && mask_len > 1 ? mask + offset : nullptr;
      const float uniform_decay = mask && mask_len == 1 ? decay * mask[0] : 0.0f;
      for (int64_t j = 0; j < len; ++j) {
        const float g = G[j] * grad_scale;
        const float d = K ? decay * K[j] : uniform_decay;
        const float x = P[j] - d * P[j];
        const float m = b1 * M[j] + (1 - b1) * g;
        const float v = b2 * V[j] + (1 - b2) * g * g;
        M[j] = m;
        V[j] = v;
        P[j] = x - step_size * m / (__builtin_sqrtf(v) * inv_sqrt_bc2 + eps);
      }
      begin += len;
    }
  });
}

// The same update with tensor ops, for CUDA and other devices.
void AdamW::step_tensor_ops(size_t i, double lr, double grad_scale, double bc1, double bc2) {
  auto& p = params_[i];
  const auto g = grad_scale == 1.0 ? p.grad() : p.grad() * grad_scale;
  if (o_.weight_decay > 0 && masks_[i].defined()) p.sub_(p * masks_[i], lr * o_.weight_decay);
  m_[i].mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
  v_[i].mul_(o_.beta2).addcmul_(g, g, 1.0 - o_.beta2);
  auto denom = (v_[i].sqrt() / std::sqrt(bc2)).add_(o_.eps);
  p.addcdiv_(m_[i], denom, -lr / bc1);
}

double grad_clip_scale(const std::vector<torch::Tensor>& params, double max_norm, double* norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
  const double total = norms.empty() ? 0.0 : torch::stack(norms).norm(2).item<double>();  // sync point
  if (norm) *norm = total;
  return max_norm > 0 && total > max_norm ? max_norm / (total + 1e-6) : 1.0;
}

}  // namespace souplab
