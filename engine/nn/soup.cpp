#include "engine/nn/soup.h"
#include "engine/nn/instantiate_cast.h"

#include <algorithm>
#include <cmath>

#include "souplab/domain_weights.h"
#include "engine/nn/gpt.h"
#include "engine/nn/gpt_grouped.h"
#include "engine/nn/torch_compat.h"

namespace souplab {

SoupBank::SoupBank(const ModelConfig& model, const BankConfig& bank, int n_domains,
                   const torch::Device& device, ColumnShard shard)
    : model_(model), bank_(bank), n_domains_(n_domains), layout_(gpt_param_layout(model)), shard_(shard) {
  validate(bank);
  TORCH_CHECK(bank.n_experts == 0 || n_domains >= 1, "a soup needs at least one domain");
  TORCH_CHECK(shard.whole() || bank.expert_rank == 0, "a sharded bank needs full experts (bank.expert_rank 0)");
  TORCH_CHECK(shard.whole() || (shard.begin >= 0 && shard.begin < layout_.total), "column shard outside the bank");
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const int64_t P = layout_.total, n = bank.n_experts, H = bank.coef_hidden, k = n_domains;
  const int64_t held = shard.whole() ? P : shard.length;
  shared_ = torch::zeros({held}, opts).requires_grad_(true);
  if (n > 0 && bank.expert_rank > 0) {
    int64_t q = 0;
    for (const auto& e : layout_.entries) {
      const bool matrix = e.shape.size() == 2;
      const int64_t length = matrix ? bank.expert_rank * (e.shape[0] + e.shape[1]) : e.numel;
      blocks_.push_back({e.numel, q, length, matrix ? e.shape[0] : 0, matrix ? e.shape[1] : 0});
      q += length;
    }
  }
  if (n > 0) {
    experts_ = torch::zeros({n, shard.whole() ? expert_size(layout_, bank.expert_rank) : held}, opts)
                   .requires_grad_(true);
    w1_ = torch::zeros({H, k}, opts).requires_grad_(true);
    b1_ = torch::zeros({H}, opts).requires_grad_(true);
    w2_ = torch::zeros({n, H}, opts).requires_grad_(true);
    b2_ = torch::zeros({n}, opts).requires_grad_(true);
  }
  theta_decay_mask_ = own_columns(decay_mask(layout_)).to(device);
  if (!blocks_.empty()) {  // the factors of a decayed matrix decay; vectors as in theta
    expert_decay_mask_ = torch::zeros({experts_.size(1)});
    for (size_t i = 0; i < blocks_.size(); ++i)
      if (layout_.entries[i].decay)
        expert_decay_mask_.narrow(0, blocks_[i].offset, blocks_[i].length).fill_(1.0);
    expert_decay_mask_ = expert_decay_mask_.to(device);
  }
}

void SoupBank::init(uint64_t seed) {
  torch::NoGradGuard no_grad;
  // Initialise on the CPU from one CPU generator so the same seed gives the same bank on
  // every device.
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  auto cpu_theta = torch::empty({layout_.total});
  init_params(cpu_theta, layout_, 1.0, 1.0, gen);
  shared_.copy_(own_columns(cpu_theta));
  const int64_t n = bank_.n_experts, r = bank_.expert_rank;
  for (int64_t j = 0; j < n && r == 0; ++j) {
    init_params(cpu_theta, layout_, bank_.expert_init_scale, 0.0, gen);
    experts_[j].copy_(own_columns(cpu_theta));
  }
  // Low rank, as LoRA starts: U random (scaled like a fan-in init), V and the vectors zero, so
  // every E_j = U_j V_j starts at 0 and the soup starts as S; V learns first, then U.
  for (int64_t j = 0; j < n && r > 0; ++j)
    for (const auto& b : blocks_)
      if (b.rows > 0)
        experts_[j].narrow(0, b.offset, b.rows * r).copy_(
            torch::randn({b.rows * r}, gen) * (bank_.expert_init_scale / std::sqrt(double(b.rows))));
  if (n > 0) {
    // torch.nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
    auto uniform = [&](const torch::Tensor& t, int64_t fan_in) {
      const double bound = 1.0 / std::sqrt(double(fan_in));
      t.copy_(torch::empty(t.sizes()).uniform_(-bound, bound, gen));
    };
    uniform(w1_, n_domains_);
    uniform(b1_, n_domains_);
    uniform(w2_, bank_.coef_hidden);
    // With the default init alpha is ~0.05 and nearly the same for every h (the bias b2
    // dominates), so all specialists start as S plus one common offset and the experts barely
    // learn to differ. Start instead with b2 = 0 and W2 scaled to the configured size of alpha
    // at the one-hot h (alpha_init_l1; see config.h): each domain then pulls its own mix of
    // experts from step 1, without multiplying the step the optimiser takes on theta.
    if (bank_.alpha_init_l1 > 0) {
      b2_.zero_();
      auto probes = torch::eye(n_domains_, w1_.options());                  // (k, k): one-hot h
      auto hidden = torch::relu(torch::addmm(b1_, probes, w1_.t()));        // (k, H)
      auto alphas = torch::matmul(hidden, w2_.t());                        // (k, n)
      if (bank_.alpha_centered) alphas = alphas - alphas.mean(0, true);
      const double l1 = alphas.abs().sum(1).mean().item<double>();
      if (l1 > 0) w2_.mul_(bank_.alpha_init_l1 / l1);
      if (bank_.alpha_centered) b2_.copy_(-torch::matmul(hidden, w2_.t()).mean(0));
    } else {
      uniform(b2_, bank_.coef_hidden);
    }
  }
}

torch::Tensor SoupBank::own_columns(const torch::Tensor& row) const {
  if (shard_.whole()) return row;
  auto sizes = row.sizes().vec();
  sizes.back() = shard_.length;
  auto out = torch::zeros(sizes, row.options());
  const int64_t real = std::min(shard_.length, layout_.total - shard_.begin);  // the rest pads
  out.narrow(-1, 0, real).copy_(row.narrow(-1, shard_.begin, real));
  return out;
}

torch::Tensor SoupBank::alpha(const torch::Tensor& h) const {
  TORCH_CHECK(bank_.n_experts > 0, "alpha: a dense bank has no experts");
  const compat::NoAutocast float32;
  auto hidden = torch::relu(torch::addmv(b1_, w1_, h));  // (H)
  return torch::addmv(b2_, w2_, hidden);                 // (n)
}

torch::Tensor SoupBank::mix_experts(const torch::Tensor& A) const {
  const compat::NoAutocast float32;
  if (blocks_.empty()) return torch::mm(A, experts_);  // full experts
  const int64_t G = A.size(0), n = bank_.n_experts, r = bank_.expert_rank;
  std::vector<torch::Tensor> parts;
  for (const auto& b : blocks_) {
    if (b.rows == 0) {  // a vector: full expert copies
      parts.push_back(torch::mm(A, experts_.narrow(1, b.offset, b.numel)));  // (G, numel)
      continue;
    }
    // sum_j A_gj U_j V_j = [A_g1 U_1 .. A_gn U_n] (rows, n*r) @ [V_1; ..; V_n] (n*r, cols).
    auto U = experts_.narrow(1, b.offset, b.rows * r).view({n, b.rows, r});
    auto V = experts_.narrow(1, b.offset + b.rows * r, r * b.cols).reshape({n * r, b.cols});
    auto UA = (U.unsqueeze(0) * A.view({G, n, 1, 1})).permute({0, 2, 1, 3}).reshape({G, b.rows, n * r});
    parts.push_back(torch::matmul(UA, V).reshape({G, b.numel}));  // (G, rows * cols)
  }
  return torch::cat(parts, 1);  // (G, P), in layout order
}

torch::Tensor SoupBank::alphas(const torch::Tensor& H) const {
  const compat::NoAutocast float32;
  auto hidden = torch::relu(torch::addmm(b1_, H, w1_.t()));  // (G, hidden)
  return torch::addmm(b2_, hidden, w2_.t());                 // (G, n)
}

torch::Tensor SoupBank::thetas(const torch::Tensor& H) const {
  const compat::NoAutocast float32;  // (the GPT's own matmuls cast theta's slices to bf16)
  if (bank_.n_experts == 0) return shared_.unsqueeze(0).expand({H.size(0), layout_.total});
  const auto A = alphas(H);                                  // (G, n)
  if (!blocks_.empty()) return shared_.unsqueeze(0) + mix_experts(A);
  return torch::addmm(shared_.unsqueeze(0), A, experts_);    // (G, P)
}

torch::Tensor SoupBank::theta(const torch::Tensor& h) const {
  const compat::NoAutocast float32;
  if (bank_.n_experts == 0) return shared_;
  if (!blocks_.empty()) return shared_ + mix_experts(alpha(h).unsqueeze(0)).squeeze(0);
  // S + alpha^T E: one pass over the bank. Written as a (1, n) x (n, P) product rather than
  // addmv over E^T so that E's gradient comes out (n, P)-contiguous, not through a transposed
  // strided add (measured: 1.6x faster backward at n = 32, bench/bench_train_step).
  return torch::addmm(shared_.unsqueeze(0), alpha(h).unsqueeze(0), experts_).squeeze(0);  // (P)
}

torch::Tensor SoupBank::inference_theta(const torch::Tensor& h, torch::ScalarType dtype) const {
  torch::NoGradGuard no_grad;
  if (dtype == torch::kFloat32) return theta(h);
  if (bank_.n_experts == 0 || !blocks_.empty() || !shard_.whole()) return theta(h).to(dtype);
  const compat::NoAutocast float32;
  return instantiate_cast(shared_, experts_, alpha(h), dtype);
}

torch::Tensor SoupBank::forward(const torch::Tensor& h, const torch::Tensor& idx) const {
  return gpt_forward(theta(h), model_, layout_, idx);
}

std::vector<std::pair<std::string, torch::Tensor>> SoupBank::named_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out{{"S", shared_}};
  if (bank_.n_experts > 0) {
    out.emplace_back("E", experts_);
    out.emplace_back("coef.w1", w1_);
    out.emplace_back("coef.b1", b1_);
    out.emplace_back("coef.w2", w2_);
    out.emplace_back("coef.b2", b2_);
  }
  return out;
}

std::vector<double> SoupBank::lr_scales(double progress) const {
  if (bank_.n_experts == 0) return {1.0};
  const double c = bank_.coef_lr_scale, end = bank_.expert_lr_scale, start = bank_.expert_lr_scale_start;
  const double e = start > 0 ? start * std::pow(end / start, std::clamp(progress, 0.0, 1.0)) : end;
  return {1.0, e, c, c, c, c};  // S, E, coef.w1, coef.b1, coef.w2, coef.b2
}

std::vector<torch::Tensor> SoupBank::decay_masks() const {
  std::vector<torch::Tensor> out{theta_decay_mask_};
  if (bank_.n_experts > 0) {
    auto full = torch::ones({1}, theta_decay_mask_.options());
    out.push_back(blocks_.empty() ? theta_decay_mask_ : expert_decay_mask_);  // E: broadcast over experts
    out.push_back(full);               // coef.w1
    out.emplace_back();                // coef.b1
    out.push_back(full);               // coef.w2
    out.emplace_back();                // coef.b2
  }
  return out;
}

TrainingLoss SoupBank::training_loss(const std::vector<std::vector<double>>& hs, const torch::Tensor& x,
                                     const torch::Tensor& y) const {
  TORCH_CHECK(!hs.empty(), "training_loss: no domain weights");
  TORCH_CHECK(shard_.whole(), "training_loss: a shard of a bank trains through engine/nn/dist/sharded_soup");
  TrainingLoss out;
  std::vector<torch::Tensor> rows;
  for (const auto& h : hs) rows.push_back(h_tensor(h));
  if (bank_.n_experts == 0) {
    out.loss = lm_loss(gpt_forward(shared_, model_, layout_, x), y);
  } else if (fused_gradient()) {  // n > 0 here
    auto A = alphas(torch::stack(rows));  // (G, n)
    const auto theta = fused_thetas(A);   // (G, P)
    out.loss = grouped_loss(theta, x, y);
    FusedGradient& fused = out.fused.emplace();
    fused.after_backward = [this, A, theta]() { return fused_backward(A, theta.grad()); };
    fused.factored_index = 1;  // "E" in named_parameters()
    fused.dtheta = theta;
    fused.dtheta_sum_index = 0;  // "S"
  } else if (hs.size() == 1) {  // autograd through E, one theta: exactly the forward of theta(h)
    out.loss = lm_loss(forward(rows[0], x), y);
  } else {
    out.loss = grouped_loss(thetas(torch::stack(rows)), x, y);
  }
  out.lm = out.loss;
  return out;
}

torch::Tensor SoupBank::fused_thetas(const torch::Tensor& A) const {
  torch::NoGradGuard no_grad;
  const compat::NoAutocast float32;
  return torch::addmm(shared_.unsqueeze(0), A.detach(), experts_).requires_grad_(true);
}

FactoredGrad SoupBank::fused_backward(const torch::Tensor& A, const torch::Tensor& D,
                                      const std::function<void(torch::Tensor&)>& sum_over_columns) const {
  torch::NoGradGuard no_grad;
  const compat::NoAutocast float32;
  shared_.mutable_grad() = D.sum(0);        // dL/dS
  auto dA = torch::mm(D, experts_.t());     // dL/dalpha (G, n): one read of E
  if (sum_over_columns) sum_over_columns(dA);
  {
    torch::AutoGradMode grad_on(true);
    A.backward(dA);                         // into the coefficient MLP
  }
  return FactoredGrad{A.detach(), D};       // dL/dE = alpha^T D, left to AdamW
}

torch::Tensor SoupBank::grouped_loss(const torch::Tensor& theta, const torch::Tensor& x,
                                     const torch::Tensor& y) const {
  const int64_t G = theta.size(0), B = x.size(0);
  TORCH_CHECK(B % G == 0, "training_loss: ", B, " rows do not split into ", G, " groups");
  // Each group's rows through its own theta; equal groups, so the loss is the mean over rows.
  if (G > 1 && gpt_forward_grouped_pays(theta)) return lm_loss(gpt_forward_grouped(theta, model_, layout_, x), y);
  const auto weights = gpt_weights_grouped(theta, model_, layout_);  // backward writes (G, P) once
  const int64_t b = B / G;
  torch::Tensor sum;
  for (int64_t g = 0; g < G; ++g) {
    auto l = lm_loss(gpt_forward(weights[size_t(g)], model_, x.narrow(0, g * b, b)), y.narrow(0, g * b, b));
    sum = g == 0 ? l : sum + l;
  }
  return G == 1 ? sum : sum / double(G);
}

EvalResult SoupBank::evaluate(const std::vector<DomainWindows>& val, int64_t step,
                              std::vector<Metric>* /*extra*/) const {
  TORCH_CHECK(shard_.whole(), "evaluate: a shard of a bank cannot evaluate alone");
  torch::NoGradGuard no_grad;
  EvalResult r;
  r.step = step;
  const size_t k = val.size();
  for (const auto& d : val) r.domains.push_back(d.name);
  auto theta_u = theta(h_tensor(uniform_domain_weights(k)));
  for (const auto& d : val) r.loss_uniform.push_back(mean_window_loss(theta_u, model_, layout_, d.tokens));
  if (bank_.n_experts > 0) {
    for (size_t i = 0; i < k; ++i) {
      auto theta_i = theta(h_tensor(one_hot_domain_weights(k, i)));
      r.loss_specialist.push_back(mean_window_loss(theta_i, model_, layout_, val[i].tokens));
    }
  }
  return r;
}

torch::Tensor SoupBank::h_tensor(const std::vector<double>& h) const {
  TORCH_CHECK(int(h.size()) == n_domains_, "h has ", h.size(), " entries, expected ", n_domains_);
  return torch::tensor(h, torch::kFloat64).to(torch::kFloat32).to(device());
}

}  // namespace souplab
