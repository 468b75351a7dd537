#include "engine/nn/moe.h"

#include <cmath>

#include "souplab/error.h"

namespace souplab {

int64_t expert_capacity(int64_t tokens, int n_experts, int top_k, double capacity_factor) {
  const double slots = std::ceil(capacity_factor * double(top_k) * double(tokens) / double(n_experts));
  return std::max<int64_t>(1, int64_t(slots));
}

MoeRouting route_tokens(const torch::Tensor& x, const torch::Tensor& router_w, int top_k,
                        double capacity_factor) {
  TORCH_CHECK(x.dim() == 2 && router_w.dim() == 2 && x.size(1) == router_w.size(0),
              "route_tokens: x (N, C) and router (C, E) expected");
  const int64_t N = x.size(0), E = router_w.size(1);
  MoeRouting r;
  // The router always runs in float32: softmax over bf16/fp16 logits is what destabilises MoE
  // training (Switch §2.4), and the cost is one (N, C) x (C, E) product.
  r.logits = torch::matmul(x.to(torch::kFloat32), router_w.to(torch::kFloat32));  // (N, E)
  r.probs = r.logits.softmax(-1);
  auto [top_p, top_i] = r.probs.topk(top_k, -1);  // (N, k), best first
  r.expert = top_i;
  r.gate = top_k > 1 ? top_p / top_p.sum(-1, true) : top_p;  // GShard renormalises the pair
  r.capacity = expert_capacity(N, int(E), top_k, capacity_factor);
  {
    torch::NoGradGuard no_grad;
    // Choice-major order (all first choices, then all second ones), so a token's first choice
    // outranks any token's second. Position = how many earlier assignments chose the expert.
    auto order = top_i.t().reshape({-1});                                        // (k*N)
    auto onehot = torch::one_hot(order, E);                                       // (k*N, E)
    auto pos = (onehot.cumsum(0) - 1).gather(1, order.unsqueeze(1)).squeeze(1);  // (k*N)
    r.position = pos.view({top_k, N}).t().contiguous();                           // (N, k)
    r.keep = r.position < r.capacity;
  }
  return r;
}

torch::Tensor dispatch_experts(const torch::Tensor& x, const MoeRouting& r, const torch::Tensor& fc_w,
                               const torch::Tensor& fc_b, const torch::Tensor& proj_w,
                               const torch::Tensor& proj_b) {
  const int64_t N = x.size(0), C = x.size(1), E = fc_w.size(0), cap = r.capacity;
  const int64_t k = r.expert.size(1);
  auto keep = r.keep.reshape({-1});                                         // (N*k)
  auto kept = keep.nonzero().squeeze(1);                                    // sync point
  auto token = torch::arange(N, r.expert.options()).repeat_interleave(k);   // (N*k): token of each
  auto token_kept = token.index_select(0, kept);
  auto slot = (r.expert.reshape({-1}) * cap + r.position.reshape({-1})).index_select(0, kept);
  // Gather into capacity-padded buffers; empty slots stay zero and their outputs are unused.
  auto buf = torch::zeros({E * cap, C}, x.options()).index_copy(0, slot, x.index_select(0, token_kept));
  auto h = torch::gelu(torch::baddbmm(fc_b.unsqueeze(1), buf.view({E, cap, C}), fc_w), "tanh");
  auto out = torch::baddbmm(proj_b.unsqueeze(1), h, proj_w).view({E * cap, C});  // (E*cap, C)
  auto gate = r.gate.reshape({-1}).index_select(0, kept).to(x.dtype()).unsqueeze(1);
  return torch::zeros({N, C}, x.options()).index_add(0, token_kept, out.index_select(0, slot) * gate);
}

torch::Tensor load_balancing_loss(const MoeRouting& r, double coef) {
  const int64_t E = r.probs.size(1);
  auto f = torch::one_hot(r.expert.select(1, 0), E).to(torch::kFloat32).mean(0);  // (E), no grad
  auto P = r.probs.mean(0);                                                          // (E)
  return coef * double(E) * (f * P).sum();
}

torch::Tensor router_z_loss(const MoeRouting& r, double coef) {
  return coef * r.logits.logsumexp(-1).pow(2).mean();
}

MoeModel::MoeModel(const ModelConfig& model, const MoeConfig& moe, int n_domains,
                   const torch::Device& device)
    : model_(model), moe_(moe), n_domains_(n_domains), layout_(gpt_param_layout(model)) {
  validate(model);
  validate(moe);
  if (moe.every > model.n_layer)
    throw Error("moe.every (" + std::to_string(moe.every) + ") exceeds n_layer (" +
                std::to_string(model.n_layer) + ")");
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const int64_t C = model.n_embd, E = moe.n_experts;
  theta_ = torch::zeros({layout_.total}, opts).requires_grad_(true);
  for (int l = 0; l < model.n_layer; ++l) {
    if (!is_moe_block(moe, l)) continue;
    moe_layers_.push_back(l);
    Experts x;
    x.router = torch::zeros({C, E}, opts).requires_grad_(true);
    x.fc_w = torch::zeros({E, C, 4 * C}, opts).requires_grad_(true);
    x.fc_b = torch::zeros({E, 4 * C}, opts).requires_grad_(true);
    x.proj_w = torch::zeros({E, 4 * C, C}, opts).requires_grad_(true);
    x.proj_b = torch::zeros({E, C}, opts).requires_grad_(true);
    experts_.push_back(std::move(x));
  }
  theta_decay_mask_ = decay_mask(layout_).to(device);
}

void MoeModel::init(uint64_t seed) {
  torch::NoGradGuard no_grad;
  // Like SoupBank::init: one CPU generator, so a seed gives the same model on every device.
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  auto cpu_theta = torch::empty({layout_.total});
  init_params(cpu_theta, layout_, 1.0, 1.0, gen);
  for (int l : moe_layers_)  // unused: the experts replace these MLPs
    for (const char* part : {"mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"}) {
      const ParamEntry& e = layout_.at("h." + std::to_string(l) + "." + part);
      cpu_theta.narrow(0, e.offset, e.numel).zero_();
    }
  theta_.copy_(cpu_theta);
  // Each expert starts as GPT-2 would start that block's MLP; the router starts small so the
  // first routing is close to uniform (Switch §2.4 recommends a reduced router init).
  const double fc_std = layout_.at("h.0.mlp.c_fc.weight").init_std;
  const double proj_std = layout_.at("h.0.mlp.c_proj.weight").init_std;
  for (auto& x : experts_) {
    x.router.copy_(torch::empty(x.router.sizes()).normal_(0.0, 0.02, gen));
    x.fc_w.copy_(torch::empty(x.fc_w.sizes()).normal_(0.0, fc_std, gen));
    x.fc_b.zero_();
    x.proj_w.copy_(torch::empty(x.proj_w.sizes()).normal_(0.0, proj_std, gen));
    x.proj_b.zero_();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> MoeModel::named_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out{{"theta", theta_}};
  for (size_t i = 0; i < experts_.size(); ++i) {
    const std::string p = "moe." + std::to_string(moe_layers_[i]) + ".";
    out.emplace_back(p + "router", experts_[i].router);
    out.emplace_back(p + "fc_w", experts_[i].fc_w);
    out.emplace_back(p + "fc_b", experts_[i].fc_b);
    out.emplace_back(p + "proj_w", experts_[i].proj_w);
    out.emplace_back(p + "proj_b", experts_[i].proj_b);
  }
  return out;
}

std::vector<torch::Tensor> MoeModel::decay_masks() const {
  std::vector<torch::Tensor> out{theta_decay_mask_};
  auto full = torch::ones({1}, theta_decay_mask_.options());
  for (size_t i = 0; i < experts_.size(); ++i) {
    out.push_back(full);     // router: a matrix, decayed like the others
    out.push_back(full);     // fc_w
    out.emplace_back();      // fc_b
    out.push_back(full);     // proj_w
    out.emplace_back();      // proj_b
  }
  return out;
}

torch::Tensor MoeModel::forward(const torch::Tensor& idx, double capacity_factor,
                                MoeForwardStats* stats, KVCache* cache) const {
  std::vector<int> slot_of(model_.n_layer, -1);
  for (size_t i = 0; i < moe_layers_.size(); ++i) slot_of[moe_layers_[i]] = int(i);
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device());
  if (stats) {
    stats->balance_loss = torch::zeros({}, theta_.options().requires_grad(false));
    stats->z_loss = torch::zeros({}, theta_.options().requires_grad(false));
    stats->dropped = torch::zeros({}, f64);
    stats->assigned = torch::zeros({}, f64);
    stats->load.assign(moe_layers_.size(), torch::Tensor());
  }
  const MlpOverride mlp = [&](int layer, const torch::Tensor& m) -> torch::Tensor {
    const int i = slot_of[layer];
    if (i < 0) return {};
    const Experts& x = experts_[i];
    MoeRouting r = route_tokens(m, x.router, moe_.top_k, capacity_factor);
    if (stats) {
      stats->balance_loss = stats->balance_loss + load_balancing_loss(r, moe_.balance_coef);
      stats->z_loss = stats->z_loss + router_z_loss(r, moe_.z_loss_coef);
      torch::NoGradGuard no_grad;
      stats->dropped += (~r.keep).sum().to(torch::kFloat64);
      stats->assigned += double(r.keep.numel());
      stats->load[i] = torch::one_hot(r.expert.reshape({-1}), moe_.n_experts).sum(0).to(torch::kFloat64);
    }
    return dispatch_experts(m, r, x.fc_w, x.fc_b, x.proj_w, x.proj_b);
  };
  return gpt_forward_with_mlp(theta_, model_, layout_, idx, mlp, cache);
}

TrainingLoss MoeModel::training_loss(const std::vector<std::vector<double>>& /*hs*/, const torch::Tensor& x,
                                     const torch::Tensor& y) const {
  MoeForwardStats s;
  TrainingLoss out;
  out.lm = lm_loss(forward(x, moe_.capacity_factor_train, &s), y);
  // Each MoE block's auxiliary losses are added (as in Switch and GShard); the logged values
  // are per block, so a perfectly balanced router logs balance_loss = balance_coef.
  out.loss = out.lm + s.balance_loss + s.z_loss;
  const double blocks = double(moe_layers_.size());
  out.metrics.emplace_back(metric_key::kBalanceLoss, s.balance_loss.detach() / blocks);
  out.metrics.emplace_back(metric_key::kZLoss, s.z_loss.detach() / blocks);
  out.metrics.emplace_back(metric_key::kDroppedFrac, (s.dropped / s.assigned).to(torch::kFloat32));
  return out;
}

EvalResult MoeModel::evaluate(const std::vector<DomainWindows>& val, int64_t step,
                              std::vector<Metric>* extra) const {
  torch::NoGradGuard no_grad;
  constexpr int64_t kBatch = 8;  // windows per forward, as mean_window_loss
  EvalResult r;
  r.step = step;
  for (const auto& d : val) {
    r.domains.push_back(d.name);
    const int64_t W = d.tokens.size(0), T = d.tokens.size(1) - 1;
    auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device());
    auto total = torch::zeros({}, f64), dropped = torch::zeros({}, f64), assigned = torch::zeros({}, f64);
    std::vector<torch::Tensor> load(moe_layers_.size());
    for (auto& t : load) t = torch::zeros({moe_.n_experts}, f64);
    for (int64_t i = 0; i < W; i += kBatch) {
      auto chunk = d.tokens.narrow(0, i, std::min<int64_t>(kBatch, W - i)).to(device());
      auto x = chunk.narrow(1, 0, T), y = chunk.narrow(1, 1, T);
      MoeForwardStats s;
      auto logits = forward(x, moe_.capacity_factor_eval, &s);
      total += torch::nn::functional::cross_entropy(
                   logits.reshape({-1, logits.size(-1)}), y.reshape({-1}),
                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .to(torch::kFloat64);
      dropped += s.dropped;
      assigned += s.assigned;
      for (size_t l = 0; l < load.size(); ++l) load[l] += s.load[l];
    }
    r.loss_uniform.push_back(total.item<double>() / double(W * T));  // sync point
    if (!extra) continue;
    extra->push_back({step, "val", d.name, "dropped_frac", (dropped / assigned).item<double>(), 0});
    for (size_t l = 0; l < load.size(); ++l) {
      auto frac = (load[l] / load[l].sum()).to(torch::kCPU);
      for (int e = 0; e < moe_.n_experts; ++e)
        extra->push_back({step, "val", d.name,
                          metric_key::kExpertLoadPrefix + std::to_string(moe_layers_[l]) + "/E" + std::to_string(e),
                          frac[e].item<double>(), 0});
    }
  }
  return r;
}

}  // namespace souplab
