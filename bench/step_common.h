#pragma once
// One training step exactly as engine/nn/trainer.cpp's TrainerImpl::train_step runs it
// (zero_grad, soup/dense forward, lm_loss, backward, clip_grad_norm, AdamW), with each phase
// timed, plus a candidate variant (see Variant) used to measure proposed engine changes.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "engine/nn/adamw.h"
#include "engine/nn/gpt.h"
#include "engine/nn/soup.h"

namespace bench {

struct Phases {
  double zero = 0, forward = 0, backward = 0, clip = 0, adam = 0, total = 0;
  double loss = 0;
};

inline Phases median_phases(const std::vector<Phases>& v) {
  auto pick = [&](double Phases::*f) {
    std::vector<double> x;
    for (const auto& p : v) x.push_back(p.*f);
    return median(x);
  };
  Phases m;
  m.zero = pick(&Phases::zero);
  m.forward = pick(&Phases::forward);
  m.backward = pick(&Phases::backward);
  m.clip = pick(&Phases::clip);
  m.adam = pick(&Phases::adam);
  m.total = pick(&Phases::total);
  m.loss = v.empty() ? 0 : v.back().loss;
  return m;
}

// For one parameter of shape (n, P) whose gradient is the outer product alpha (n) x g (P)
// (the experts E: d theta / d E_j = alpha_j), read that gradient on the fly instead of from
// .grad(): the n x P gradient is never materialised.
struct RankOne {
  size_t index = size_t(-1);
  torch::Tensor alpha, g;  // (n), (P)
};

// AdamW with exactly the engine's update (decoupled decay p -= lr*wd*mask*p, then Adam with
// bias corrections and eps added to sqrt(v)/sqrt(bc2)) in one pass over memory per tensor,
// parallel over both cores, with the clip scale folded into the gradient read.
class FusedAdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> params, std::vector<torch::Tensor> masks,
             souplab::AdamWOptions o)
      : params_(std::move(params)), masks_(std::move(masks)), o_(o) {
    for (auto& p : params_) {
      m_.push_back(torch::zeros_like(p).detach());
      v_.push_back(torch::zeros_like(p).detach());
    }
    for (auto& mk : masks_)
      if (mk.defined()) mk = mk.contiguous();
  }
  void step(double lr, double grad_scale, const RankOne& r1 = RankOne()) {
    ++step_;
    const float bc1 = float(1.0 - std::pow(o_.beta1, double(step_)));
    const float inv_sqrt_bc2 = float(1.0 / std::sqrt(1.0 - std::pow(o_.beta2, double(step_))));
    const float b1 = float(o_.beta1), b2 = float(o_.beta2), eps = float(o_.eps);
    const float step_size = float(lr) / bc1, decay = float(lr * o_.weight_decay);
    const float gs0 = float(grad_scale);
    for (size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i];
      const bool rank_one = i == r1.index;
      if (!rank_one && !p.grad().defined()) continue;
      float* pp = p.data_ptr<float>();
      const float* gp = rank_one ? r1.g.data_ptr<float>() : p.grad().data_ptr<float>();
      const float* ap = rank_one ? r1.alpha.data_ptr<float>() : nullptr;
      const int64_t row = rank_one ? r1.g.numel() : 0;
      float* mp = m_[i].data_ptr<float>();
      float* vp = v_[i].data_ptr<float>();
      const float* mask = masks_[i].defined() ? masks_[i].data_ptr<float>() : nullptr;
      const int64_t mlen = masks_[i].defined() ? masks_[i].numel() : 1;
      const int64_t N = p.numel();
      at::parallel_for(0, N, 1 << 15, [&](int64_t b, int64_t e) {
        while (b < e) {
          const int64_t off = mask ? b % mlen : 0;
          int64_t len = mask ? std::min(e - b, mlen - off) : e - b;
          if (rank_one) len = std::min(len, row - b % row);
          float* P = pp + b;
          const float* G = rank_one ? gp + b % row : gp + b;
          const float gs = rank_one ? gs0 * ap[b / row] : gs0;
          float* M = mp + b;
          float* V = vp + b;
          if (mask && mlen > 1) {
            const float* K = mask + off;
            for (int64_t j = 0; j < len; ++j) {
              const float g = G[j] * gs;
              float x = P[j] - decay * K[j] * P[j];
              const float m = b1 * M[j] + (1 - b1) * g;
              const float v = b2 * V[j] + (1 - b2) * g * g;
              M[j] = m;
              V[j] = v;
              P[j] = x - step_size * m / (__builtin_sqrtf(v) * inv_sqrt_bc2 + eps);
            }
          } else {
            const float d = mask ? decay * mask[0] : 0.0f;
            for (int64_t j = 0; j < len; ++j) {
              const float g = G[j] * gs;
              float x = P[j] - d * P[j];
              const float m = b1 * M[j] + (1 - b1) * g;
              const float v = b2 * V[j] + (1 - b2) * g * g;
              M[j] = m;
              V[j] = v;
              P[j] = x - step_size * m / (__builtin_sqrtf(v) * inv_sqrt_bc2 + eps);
            }
          }
          b += len;
        }
      });
    }
  }

 private:
  std::vector<torch::Tensor> params_, masks_, m_, v_;
  souplab::AdamWOptions o_;
  int64_t step_ = 0;
};

// theta = S + E^T alpha with a backward that returns dS = g and dalpha = E g but no dE: it keeps
// g (P) and alpha (n) so the optimiser reads dE = alpha g^T on the fly.
struct RankOneGrad {
  torch::Tensor alpha, g;
};
class RankOneTheta : public torch::autograd::Function<RankOneTheta> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor S,
                               torch::Tensor alpha, torch::Tensor E, int64_t holder) {
    ctx->save_for_backward({E});
    ctx->saved_data["holder"] = holder;
    reinterpret_cast<RankOneGrad*>(holder)->alpha = alpha.detach().contiguous();
    return torch::addmv(S, E.t(), alpha);  // (P)
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = grads[0].contiguous();
    auto E = ctx->get_saved_variables()[0];
    reinterpret_cast<RankOneGrad*>(ctx->saved_data["holder"].toInt())->g = g;
    return {g, torch::mv(E, g), torch::Tensor(), torch::Tensor()};
  }
};

// engine: the trainer's step as it is today (SoupBank::training_loss: the fused soup step whose
// expert gradient reaches AdamW in factored form, engine/nn/adamw.cpp step_factored_cpu).
// candidate: grads set to undefined instead of zeroed (autograd writes them fresh), theta as
// addmm(S, alpha^T, E) so E's gradient comes out (n, P)-contiguous, the clip norm computed as in
// the engine but its scale folded into a fused single-pass AdamW.
// rank-one: as candidate, plus E's gradient never materialised (RankOneTheta): its norm is
// |alpha| |g| and the fused AdamW reads alpha_j g_i directly.
enum class Variant { kEngine, kCandidate, kRankOne };

class Stepper {
 public:
  Stepper(const souplab::ModelConfig& m, int n_experts, int k, Variant v, uint64_t seed = 1)
      : variant_(v) {
    souplab::BankConfig bc;
    bc.n_experts = n_experts;
    bank_ = std::make_unique<souplab::SoupBank>(m, bc, k, torch::kCPU);
    bank_->init(seed);
    for (const auto& [name, t] : bank_->named_parameters()) {
      params_.push_back(t);
      if (name == "S") S_ = t;
      if (name == "E") {
        E_ = t;
        e_index_ = params_.size() - 1;
      }
    }
    souplab::AdamWOptions o;  // the trainer's defaults: 0.9, 0.95, 1e-8, 0.1
    if (v == Variant::kEngine)
      adam_ = std::make_unique<souplab::AdamW>(params_, bank_->decay_masks(), o);
    else
      fused_ = std::make_unique<FusedAdamW>(params_, bank_->decay_masks(), o);
  }

  souplab::SoupBank& bank() { return *bank_; }

  Phases step(const torch::Tensor& x, const torch::Tensor& y, const std::vector<double>& h,
              double lr = 1e-3, double clip = 1.0) {
    return step_groups(x, y, {h}, lr, clip);
  }

  // The trainer's step with one h per group of rows (train.h_per_step): only the engine variant
  // splits the batch; the others take one h.
  Phases step_groups(const torch::Tensor& x, const torch::Tensor& y, const std::vector<std::vector<double>>& hs,
                     double lr = 1e-3, double clip = 1.0) {
    TORCH_CHECK(variant_ == Variant::kEngine || hs.size() == 1, "bench Stepper: only the engine variant groups h");
    const std::vector<double>& h = hs.at(0);
    Phases ph;
    const auto t0 = Clock::now();
    if (variant_ == Variant::kEngine) {
      ph.zero = time_ms([&] { adam_->zero_grad(); });
    } else {
      ph.zero = time_ms([&] {
        for (auto& p : params_) p.mutable_grad() = torch::Tensor();
      });
    }
    const bool r1 = variant_ == Variant::kRankOne && bank_->n_experts() > 0;
    torch::Tensor loss;
    ph.forward = time_ms([&] {
      auto ht = bank_->h_tensor(h);
      if (variant_ == Variant::kEngine) {  // the trainer's step: the fused soup loss
        engine_loss_ = bank_->training_loss(hs, x, y);
        loss = engine_loss_.loss;
      } else if (r1) {
        auto theta = RankOneTheta::apply(S_, bank_->alpha(ht), E_, reinterpret_cast<int64_t>(&r1_));
        loss = souplab::lm_loss(souplab::gpt_forward(theta, bank_->model_config(), bank_->layout(), x), y);
      } else if (bank_->n_experts() == 0) {
        loss = souplab::lm_loss(bank_->forward(ht, x), y);
      } else {
        auto alpha = bank_->alpha(ht);                                          // (n)
        auto theta = torch::addmm(S_.unsqueeze(0), alpha.unsqueeze(0), E_).squeeze(0);  // (P)
        loss = souplab::lm_loss(souplab::gpt_forward(theta, bank_->model_config(), bank_->layout(), x), y);
      }
    });
    souplab::FactoredGrad factored;
    ph.backward = time_ms([&] {
      loss.backward();
      if (variant_ == Variant::kEngine && engine_loss_.fused) factored = engine_loss_.fused->after_backward();
    });
    double scale = 1.0;
    ph.clip = time_ms([&] {
      if (variant_ == Variant::kEngine) {
        scale = souplab::grad_clip_scale(params_, clip, nullptr, factored.defined() ? factored.squared_norm() : 0);
        if (factored.defined()) adam_->set_factored_grad(engine_loss_.fused->factored_index, std::move(factored));
      } else {
        torch::NoGradGuard g;
        std::vector<torch::Tensor> norms;
        for (const auto& p : params_)
          if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
        if (r1) norms.push_back((r1_.alpha.norm(2) * r1_.g.norm(2)).to(torch::kFloat64));
        const double total = torch::stack(norms).norm(2).item<double>();
        if (clip > 0 && total > clip) scale = clip / (total + 1e-6);
      }
    });
    ph.adam = time_ms([&] {
      if (variant_ == Variant::kEngine) adam_->step(lr, scale);
      else if (r1) fused_->step(lr, scale, {e_index_, r1_.alpha, r1_.g});
      else fused_->step(lr, scale);
    });
    ph.total = ms_since(t0);
    ph.loss = loss.item<double>();
    return ph;
  }

 private:
  Variant variant_;
  std::unique_ptr<souplab::SoupBank> bank_;
  std::vector<torch::Tensor> params_;
  torch::Tensor S_, E_;
  size_t e_index_ = size_t(-1);
  RankOneGrad r1_;
  souplab::TrainingLoss engine_loss_;
  std::unique_ptr<souplab::AdamW> adam_;
  std::unique_ptr<FusedAdamW> fused_;
};

}  // namespace bench
