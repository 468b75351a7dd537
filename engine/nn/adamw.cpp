#include "engine/nn/adamw.h"

#include <cmath>

namespace souplab {

AdamW::AdamW(std::vector<torch::Tensor> params, std::vector<torch::Tensor> decay_masks,
             AdamWOptions o)
    : params_(std::move(params)), masks_(std::move(decay_masks)), o_(o) {
  TORCH_CHECK(params_.size() == masks_.size(), "AdamW: one decay mask per parameter");
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous).detach());
    v_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous).detach());
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1.0 - std::pow(o_.beta1, double(step_));
  const double bc2 = 1.0 - std::pow(o_.beta2, double(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto& g = p.grad();
    if (!g.defined()) continue;
    // Decoupled weight decay: p -= lr * wd * mask * p.
    if (o_.weight_decay > 0 && masks_[i].defined())
      p.sub_(p * masks_[i], lr * o_.weight_decay);
    m_[i].mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
    v_[i].mul_(o_.beta2).addcmul_(g, g, 1.0 - o_.beta2);
    auto denom = (v_[i].sqrt() / std::sqrt(bc2)).add_(o_.eps);
    p.addcdiv_(m_[i], denom, -lr / bc1);
  }
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm(2).item<double>();  // sync point
  if (max_norm > 0 && total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (const auto& p : params)
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
  }
  return total;
}

}  // namespace souplab
