#include "engine/nn/adamw.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "engine/nn/simd_clones.h"

namespace souplab {

AdamW::AdamW(std::vector<torch::Tensor> params, std::vector<torch::Tensor> decay_masks,
             AdamWOptions o, std::vector<double> lr_scales)
    : params_(std::move(params)), masks_(std::move(decay_masks)), o_(o) {
  TORCH_CHECK(params_.size() == masks_.size(), "AdamW: one decay mask per parameter");
  set_lr_scales(std::move(lr_scales));
  for (auto& mask : masks_)
    if (mask.defined()) mask = mask.contiguous();
  factored_.resize(params_.size());
  for (const auto& p : params_) {
    TORCH_CHECK(p.is_contiguous(), "AdamW: parameters must be contiguous");
    m_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous).detach());
    v_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous).detach());
  }
}

void AdamW::set_lr_scales(std::vector<double> lr_scales) {
  if (lr_scales.empty()) lr_scales.assign(params_.size(), 1.0);
  TORCH_CHECK(lr_scales.size() == params_.size(), "AdamW: one learning-rate scale per parameter");
  lr_scales_ = std::move(lr_scales);
}

void AdamW::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void AdamW::set_factored_grad(size_t i, FactoredGrad g) {
  TORCH_CHECK(i < params_.size(), "AdamW: no parameter ", i);
  const auto& p = params_[i];
  TORCH_CHECK(p.dim() == 2 && g.A.dim() == 2 && g.D.dim() == 2 && g.A.size(0) == g.D.size(0) &&
                  g.A.size(1) == p.size(0) && g.D.size(1) == p.size(1),
              "AdamW: a factored gradient A (G, n), D (G, P) for a parameter (n, P)");
  factored_[i] = {g.A.contiguous(), g.D.contiguous()};
}

void AdamW::step(double lr, double grad_scale) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1.0 - std::pow(o_.beta1, double(step_));
  const double bc2 = 1.0 - std::pow(o_.beta2, double(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    FactoredGrad f = std::move(factored_[i]);
    factored_[i] = {};
    const bool cpu32 = p.device().is_cpu() && p.scalar_type() == torch::kFloat32;
    const double lr_i = lr * lr_scales_[i];
    if (f.defined()) {
      if (cpu32) {
        factored_[i] = std::move(f);  // the kernel reads it from there
        step_factored_cpu(i, float(lr_i), float(grad_scale), float(bc1), float(1.0 / std::sqrt(bc2)));
        factored_[i] = {};
      } else {
        factored_[i] = std::move(f);
        const float inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
        if (!step_factored_cuda(i, float(lr_i), float(grad_scale), float(bc1), inv_sqrt_bc2))
          step_tensor_ops(i, factored_[i].materialize(), lr_i, grad_scale, bc1, bc2);
        factored_[i] = {};
      }
      continue;
    }
    if (!p.grad().defined()) continue;
    if (cpu32 && p.grad().is_contiguous())
      step_fused_cpu(i, float(lr_i), float(grad_scale), float(bc1), float(1.0 / std::sqrt(bc2)));
    else
      step_tensor_ops(i, p.grad(), lr_i, grad_scale, bc1, bc2);
  }
}

namespace {

// One element of AdamW with decoupled decay d (= lr * wd * mask): the loops below and the CUDA
// kernel (engine/cuda/factored_adamw.cu) apply exactly these operations, in this order.
struct ElementUpdate {
  float b1, b2, eps, step_size, inv_sqrt_bc2;
  inline void operator()(float& p, float& m_io, float& v_io, float g, float d) const {
    const float x = p - d * p;
    const float m = b1 * m_io + (1 - b1) * g;
    const float v = b2 * v_io + (1 - b2) * g * g;
    m_io = m;
    v_io = v;
    p = x - step_size * m / (__builtin_sqrtf(v) * inv_sqrt_bc2 + eps);
  }
};

// The two hot loops, built for AVX2 and baseline x86-64 (engine/nn/simd_clones.h; measured 1.4x
// on the loop). Each mask case has its own loop so that it vectorises.

// P[c], M[c], V[c] <- AdamW with gradient G[c] * grad_scale and decay decay * K[c] (K null:
// decay_all for every element).
SOUPLAB_SIMD_CLONES void update_run(float* __restrict P, float* __restrict M, float* __restrict V,
                                    const float* __restrict G, float grad_scale, const float* __restrict K,
                                    float decay, float decay_all, int64_t len, ElementUpdate u) {
  if (K)
    for (int64_t c = 0; c < len; ++c) u(P[c], M[c], V[c], G[c] * grad_scale, decay * K[c]);
  else
    for (int64_t c = 0; c < len; ++c) u(P[c], M[c], V[c], G[c] * grad_scale, decay_all);
}

// g[c] = sum_r a[r] * D[r * P + c] for c < len: one expert's gradient over a block of columns.
SOUPLAB_SIMD_CLONES void factored_grad_run(float* __restrict g, const float* __restrict a, const float* __restrict D,
                                           int64_t G, int64_t P, int64_t len) {
  for (int64_t c = 0; c < len; ++c) g[c] = 0;
  for (int64_t r = 0; r < G; ++r) {
    const float ar = a[r];
    const float* __restrict Dr = D + r * P;
    for (int64_t c = 0; c < len; ++c) g[c] += ar * Dr[c];
  }
}

}  // namespace

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
  const float decay = lr * float(o_.weight_decay);
  const ElementUpdate update{float(o_.beta1), float(o_.beta2), float(o_.eps), lr / bc1, inv_sqrt_bc2};
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
      update_run(P, M, V, G, grad_scale, K, decay, uniform_decay, len, update);
      begin += len;
    }
  });
}

// The update of a (n, P) parameter from its factored gradient A^T D, one pass over memory: for
// each element E[j, p] the gradient sum_g A[g, j] D[g, p] is formed in a register from the G
// values of column p of D (which stay in cache while the n rows go by) and used at once, so
// neither the n x P gradient nor a second pass over E, m, v exists. Elements are independent:
// the result does not depend on how parallel_for splits the columns.
void AdamW::step_factored_cpu(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2) {
  const auto& f = factored_[i];
  const auto A = f.A.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto D = f.D.to(torch::kFloat32).contiguous();
  const int64_t G = A.size(0), n = A.size(1), P = D.size(1);
  const float* ap = A.data_ptr<float>();
  const float* dp = D.data_ptr<float>();
  float* pp = params_[i].data_ptr<float>();
  float* mp = m_[i].data_ptr<float>();
  float* vp = v_[i].data_ptr<float>();
  const float* mask = masks_[i].defined() ? masks_[i].data_ptr<float>() : nullptr;
  const int64_t mask_len = mask ? masks_[i].numel() : 1;
  TORCH_CHECK(!mask || mask_len == 1 || mask_len == P, "AdamW: a factored gradient's mask must be (P) or (1)");
  const float decay = lr * float(o_.weight_decay);
  const ElementUpdate update{float(o_.beta1), float(o_.beta2), float(o_.eps), lr / bc1, inv_sqrt_bc2};
  constexpr int64_t kBlock = 2048;  // columns per block: G x 8 KiB of D stay in L1/L2 over the n rows
  at::parallel_for(0, (P + kBlock - 1) / kBlock, 1, [&](int64_t b0, int64_t b1_) {
    std::vector<float> g(kBlock), coef(static_cast<size_t>(G));
    const float uniform_decay = mask && mask_len == 1 ? decay * mask[0] : 0.0f;
    for (int64_t blk = b0; blk < b1_; ++blk) {
      const int64_t lo = blk * kBlock, len = std::min(kBlock, P - lo);
      const float* K = mask && mask_len > 1 ? mask + lo : nullptr;
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t r = 0; r < G; ++r) coef[size_t(r)] = ap[r * n + j] * grad_scale;  // as the CUDA kernel
        factored_grad_run(g.data(), coef.data(), dp + lo, G, P, len);  // g = sum_r A[r, j] D[r, lo:lo+len]
        update_run(pp + j * P + lo, mp + j * P + lo, vp + j * P + lo, g.data(), 1.0f, K, decay,
                   uniform_decay, len, update);
      }
    }
  });
}

double FactoredGrad::squared_norm() const {
  // ||A^T D||_F^2 = sum_{g,h} (A A^T)[g, h] (D D^T)[g, h]
  torch::NoGradGuard no_grad;
  const auto a = A.to(torch::kFloat64), d = D.to(torch::kFloat32);
  const auto dd = torch::mm(d, d.t()).to(torch::kFloat64);
  return (torch::mm(a, a.t()).to(dd.device()) * dd).sum().item<double>();
}

torch::Tensor FactoredGrad::materialize() const {
  torch::NoGradGuard no_grad;
  return torch::mm(A.t().to(D.device(), D.scalar_type()), D);
}

// The same update with tensor ops, for other devices and dtypes (and CUDA without our kernels).
void AdamW::step_tensor_ops(size_t i, const torch::Tensor& grad, double lr, double grad_scale, double bc1, double bc2) {
  auto& p = params_[i];
  const auto g = grad_scale == 1.0 ? grad : grad * grad_scale;
  if (o_.weight_decay > 0 && masks_[i].defined()) p.sub_(p * masks_[i], lr * o_.weight_decay);
  m_[i].mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
  v_[i].mul_(o_.beta2).addcmul_(g, g, 1.0 - o_.beta2);
  auto denom = (v_[i].sqrt() / std::sqrt(bc2)).add_(o_.eps);
  p.addcdiv_(m_[i], denom, -lr / bc1);
}

double grad_clip_scale(const std::vector<torch::Tensor>& params, double max_norm, double* norm,
                       double extra_sq_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
  double total = 0;
  if (extra_sq_norm == 0) {
    total = norms.empty() ? 0.0 : torch::stack(norms).norm(2).item<double>();  // sync point
  } else {
    const double sq = norms.empty() ? 0.0 : torch::stack(norms).pow(2).sum().item<double>();
    total = std::sqrt(sq + extra_sq_norm);
  }
  if (norm) *norm = total;
  return clip_factor(total, max_norm);
}

double clip_factor(double norm, double max_norm) {
  return max_norm > 0 && norm > max_norm ? max_norm / (norm + 1e-6) : 1.0;
}

}  // namespace souplab
