// Post-hoc adapters (LoRA mixes, PHATGOOSE-style routing, WEMoE MLPs), their files, and the
// Bank that opens a post-hoc folder.
#include "engine/nn/posthoc.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/core/atomic_file.h"
#include "engine/core/domain_weights.h"
#include "engine/core/error.h"
#include "engine/core/safetensors.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/bank.h"
#include "engine/nn/device.h"
#include "engine/nn/posthoc_api.h"
#include "engine/nn/specialist_impl.h"

namespace souplab {

std::pair<int64_t, int64_t> linear_site_shape(LinearSite s, int64_t C) {
  switch (s) {
    case LinearSite::kAttn: return {C, 3 * C};
    case LinearSite::kAttnProj: return {C, C};
    case LinearSite::kFc: return {C, 4 * C};
    case LinearSite::kMlpProj: return {4 * C, C};
  }
  return {0, 0};
}

std::string module_name(int layer, LinearSite s) {
  return "h." + std::to_string(layer) + "." + linear_site_name(s);
}

// ---- LoRA -------------------------------------------------------------------------------------

LoraExpert LoraExpert::init(const ModelConfig& c, int rank, const torch::Device& device, uint64_t seed) {
  if (rank < 1) throw Error("LoRA rank must be >= 1, got " + std::to_string(rank));
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  LoraExpert e;
  e.rank = rank;
  for (int l = 0; l < c.n_layer; ++l)
    for (int s = 0; s < kLinearSites; ++s) {
      const auto [in, out] = linear_site_shape(LinearSite(s), c.n_embd);
      e.A.push_back(torch::randn({in, rank}, gen).mul_(1.0 / std::sqrt(double(in))).to(device));
      e.B.push_back(torch::zeros({rank, out}, torch::TensorOptions().device(device)));
    }
  return e;
}

torch::Tensor LoraExpert::delta(size_t m, const torch::Tensor& x) const {
  return torch::matmul(torch::matmul(x, A[m]), B[m]).mul(1.0 / double(rank));
}

std::vector<torch::Tensor> LoraExpert::tensors() const {
  std::vector<torch::Tensor> out = A;
  out.insert(out.end(), B.begin(), B.end());
  return out;
}

torch::Tensor LoraMixAdapter::linear(int layer, LinearSite site, const torch::Tensor& x,
                                     const torch::Tensor& y) const {
  const size_t m = size_t(layer) * kLinearSites + size_t(site);
  if (input_sums) {
    auto s = x.detach().sum(0);
    auto& slot = (*input_sums)[m];
    slot = slot.defined() ? slot + s : s;
  }
  auto out = y;
  for (size_t i = 0; i < experts_.size(); ++i) {
    if (weights_[i] == 0) continue;
    auto d = experts_[i]->delta(m, x);
    if (!gates.empty()) d = d * torch::sigmoid(torch::matmul(x, gates[m])).unsqueeze(1);  // (N, 1)
    out = out + d * weights_[i];
  }
  return out;
}

// ---- routing ----------------------------------------------------------------------------------

torch::Tensor standardize(const torch::Tensor& u) {
  return torch::layer_norm(u, {u.size(-1)}, {}, {}, 1e-5);
}

RoutedLoraAdapter::RoutedLoraAdapter(std::vector<LoraExpert> experts, std::vector<torch::Tensor> vectors,
                                     int top_k, bool absolute_scores)
    : experts_(std::move(experts)), top_k_(top_k), abs_(absolute_scores) {
  if (experts_.empty()) throw Error("routing needs at least one expert");
  const int64_t n = int64_t(experts_.size());
  top_k_ = int(std::max<int64_t>(1, std::min<int64_t>(top_k, n)));
  for (size_t m = 0; m < experts_[0].A.size(); ++m) {
    std::vector<torch::Tensor> as, bs;
    for (const auto& e : experts_) {
      as.push_back(e.A[m] / double(e.rank));  // fold each expert's 1/r into A
      bs.push_back(e.B[m]);
    }
    A_cat_.push_back(torch::cat(as, 1));
    B_stack_.push_back(torch::stack(bs));
    if (!vectors.empty()) vectors_.push_back(standardize(vectors[m]));
  }
}

torch::Tensor RoutedLoraAdapter::routing_weights(size_t m, const torch::Tensor& x) const {
  const int64_t n = int64_t(experts_.size());
  if (vectors_.empty())  // merged experts: the plain average
    return torch::full({x.size(0), n}, 1.0 / double(n), x.options());
  auto scores = torch::matmul(standardize(x), vectors_[m].t()) / std::sqrt(double(x.size(1)));  // (N, n)
  if (abs_) scores = scores.abs();
  auto probs = scores.softmax(-1);
  auto [top, idx] = probs.topk(top_k_, -1);
  top = top / top.sum(-1, true);  // renormalise over the kept experts
  return torch::zeros_like(probs).scatter(-1, idx, top);
}

torch::Tensor RoutedLoraAdapter::linear(int layer, LinearSite site, const torch::Tensor& x,
                                        const torch::Tensor& y) const {
  const size_t m = size_t(layer) * kLinearSites + size_t(site);
  const int64_t N = x.size(0), n = int64_t(experts_.size()), r = B_stack_[m].size(1);
  auto w = routing_weights(m, x);                               // (N, n)
  auto xa = torch::matmul(x, A_cat_[m]).view({N, n, r}) * w.unsqueeze(-1);  // (N, n, r)
  // sum_i w_i (x A_i) B_i: one batched product over experts, then a sum.
  auto d = torch::bmm(xa.transpose(0, 1), B_stack_[m]).sum(0);  // (N, out)
  return y + d;
}

// ---- WEMoE ------------------------------------------------------------------------------------

std::vector<WemoeAdapter::Layer> WemoeAdapter::make_layers(const torch::Tensor& theta0,
                                                           const std::vector<torch::Tensor>& experts,
                                                           const ModelConfig& c, int hidden,
                                                           uint64_t seed) {
  const ParamLayout layout = gpt_param_layout(c);
  const GptWeights w0 = gpt_weights(theta0, c, layout);
  std::vector<GptWeights> we;
  for (const auto& t : experts) we.push_back(gpt_weights(t, c, layout));
  const int64_t C = c.n_embd, n = int64_t(experts.size()), H = hidden > 0 ? hidden : C;
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  auto opts = theta0.options();
  std::vector<Layer> out;
  for (int l = 0; l < c.n_layer; ++l) {
    const auto& b0 = w0.blocks[size_t(l)];
    Layer L;
    L.fc_w0 = b0.fc_w.clone();
    L.fc_b0 = b0.fc_b.clone();
    L.proj_w0 = b0.mlp_proj_w.clone();
    L.proj_b0 = b0.mlp_proj_b.clone();
    std::vector<torch::Tensor> fw, fb, pw, pb;
    for (const auto& e : we) {
      const auto& b = e.blocks[size_t(l)];
      fw.push_back(b.fc_w - b0.fc_w);
      fb.push_back(b.fc_b - b0.fc_b);
      pw.push_back(b.mlp_proj_w - b0.mlp_proj_w);
      pb.push_back(b.mlp_proj_b - b0.mlp_proj_b);
    }
    L.tau_fc_w = torch::cat(fw, 1);
    L.tau_fc_b = torch::stack(fb);
    L.tau_proj_w = torch::cat(pw, 1);
    L.tau_proj_b = torch::stack(pb);
    L.w1 = torch::randn({C, H}, gen).mul_(1.0 / std::sqrt(double(C))).to(opts.device());
    L.b1 = torch::zeros({H}, opts);
    L.w2 = torch::zeros({H, n}, opts);  // zero: r = lambda at the start (task arithmetic)
    L.b2 = torch::zeros({n}, opts);
    out.push_back(std::move(L));
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> WemoeAdapter::router_tensors() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const std::string p = "router.h." + std::to_string(l) + ".";
    out.push_back({p + "w1", layers_[l].w1});
    out.push_back({p + "b1", layers_[l].b1});
    out.push_back({p + "w2", layers_[l].w2});
    out.push_back({p + "b2", layers_[l].b2});
  }
  return out;
}

torch::Tensor WemoeAdapter::mlp(int layer, const torch::Tensor& m, const GptWeights::Block&,
                                int64_t past, torch::Tensor* state) const {
  const Layer& L = layers_[size_t(layer)];
  const int64_t B = m.size(0), T = m.size(1), C = m.size(2), n = L.tau_fc_b.size(0);
  // Router input: mean of m over positions 0..t (the prefix, including the cached tokens).
  auto sums = m.cumsum(1);  // (B, T, C)
  if (state && state->defined()) sums = sums + state->unsqueeze(1);
  if (state) *state = sums.select(1, T - 1).detach();
  auto counts = torch::arange(past + 1, past + T + 1, m.options()).view({1, T, 1});
  auto mean = sums / counts;
  auto r = torch::relu(torch::matmul(mean, L.w1) + L.b1);
  r = (torch::matmul(r, L.w2) + L.b2 + lambda_).reshape({B * T, n, 1});  // (N, n, 1)
  auto x = m.reshape({B * T, C});
  const int64_t N = B * T, F = L.fc_b0.size(0);
  auto h = torch::addmm(L.fc_b0, x, L.fc_w0) +
           ((torch::matmul(x, L.tau_fc_w).view({N, n, F}) + L.tau_fc_b) * r).sum(1);
  h = torch::gelu(h, "tanh");
  auto y = torch::addmm(L.proj_b0, h, L.proj_w0) +
           ((torch::matmul(h, L.tau_proj_w).view({N, n, C}) + L.tau_proj_b) * r).sum(1);
  return y.view({B, T, C});
}

// ---- files ------------------------------------------------------------------------------------

void save_tensor_map(const std::string& path,
                     const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> host;  // keeps the CPU copies alive while writing
  std::vector<TensorView> views;
  for (const auto& [name, t] : tensors) {
    host.push_back(t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
    views.push_back({name, DType::kF32, host.back().sizes().vec(), host.back().data_ptr<float>()});
  }
  write_safetensors(path, views, metadata);
}

std::map<std::string, torch::Tensor> load_tensor_map(const std::string& path, const torch::Device& device) {
  const SafetensorsFile f = read_safetensors(path);
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : f.tensors()) {
    std::vector<float> v = f.to_f32(e.name);
    out[e.name] = torch::from_blob(v.data(), e.shape, torch::kFloat32).clone().to(device);
  }
  return out;
}

void add_lora_tensors(const LoraExpert& e, const ModelConfig& c, const std::string& prefix,
                      std::vector<std::pair<std::string, torch::Tensor>>* out) {
  for (int l = 0; l < c.n_layer; ++l)
    for (int s = 0; s < kLinearSites; ++s) {
      const size_t m = size_t(l) * kLinearSites + size_t(s);
      const std::string name = prefix + module_name(l, LinearSite(s));
      out->push_back({name + ".lora_A", e.A[m]});
      out->push_back({name + ".lora_B", e.B[m]});
    }
}

LoraExpert lora_from_tensors(const std::map<std::string, torch::Tensor>& t, const ModelConfig& c,
                             const std::string& prefix, const std::string& source) {
  LoraExpert e;
  for (int l = 0; l < c.n_layer; ++l)
    for (int s = 0; s < kLinearSites; ++s) {
      const std::string name = prefix + module_name(l, LinearSite(s));
      auto a = t.find(name + ".lora_A"), b = t.find(name + ".lora_B");
      if (a == t.end() || b == t.end()) throw file_error(source, "missing LoRA tensors " + name);
      const auto [in, out] = linear_site_shape(LinearSite(s), c.n_embd);
      const int64_t r = a->second.dim() == 2 ? a->second.size(1) : -1;
      if (r < 1 || a->second.size(0) != in || b->second.dim() != 2 || b->second.size(0) != r ||
          b->second.size(1) != out || (e.rank && e.rank != r))
        throw file_error(source, "LoRA tensors " + name + " have the wrong shape for this model");
      e.rank = int(r);
      e.A.push_back(a->second);
      e.B.push_back(b->second);
    }
  return e;
}

// ---- the Bank of a post-hoc folder --------------------------------------------------------------

namespace {

nlohmann::json read_manifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw file_error(path, std::string("not valid JSON: ") + e.what());
  }
}

template <typename T>
T manifest_get(const nlohmann::json& j, const char* key, const std::string& path) {
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw file_error(path + "/manifest.json", std::string("missing or malformed \"") + key + "\"");
  }
}

// A path in a manifest: relative ones are relative to the folder.
std::string resolve(const std::string& dir, const std::string& p) {
  std::filesystem::path q(p);
  return q.is_absolute() ? p : (std::filesystem::path(dir) / q).string();
}

class PosthocBank final : public Bank {
 public:
  PosthocBank(const std::string& dir, const std::string& device) {
    const auto j = read_manifest(dir);
    const auto method = manifest_get<std::string>(j, "method", dir);
    const auto base_path = resolve(dir, manifest_get<std::string>(j, "base", dir));
    auto base = Bank::load(base_path, device);
    facts_ = base->facts();
    auto h0 = facts_.training_mixture;
    if (h0.empty() && !facts_.domains.empty()) h0 = uniform_domain_weights(facts_.domains.size());
    const auto base_model = base->instantiate(h0);  // keeps theta alive
    const auto& base_spec = dynamic_cast<const SpecialistImpl&>(*base_model);
    theta0_ = base_spec.theta();
    const ModelConfig& c = facts_.config.model;
    facts_.path = dir;
    facts_.kind = method;
    facts_.run_name = j.value("name", method);
    const torch::Device dev = theta0_.device();
    const auto expert_domains = manifest_get<std::vector<std::string>>(j, "experts", dir);
    for (const auto& d : expert_domains) {
      auto it = std::find(facts_.domains.begin(), facts_.domains.end(), d);
      expert_index_.push_back(it == facts_.domains.end() ? -1 : int(it - facts_.domains.begin()));
    }
    if (method == "lora_experts" || method == "phatgoose") {
      const auto file = dir + "/" + manifest_get<std::string>(j, "tensors", dir);
      const auto t = load_tensor_map(file, dev);
      for (size_t i = 0; i < expert_domains.size(); ++i)
        loras_.push_back(lora_from_tensors(t, c, "expert." + std::to_string(i) + ".", file));
      if (method == "phatgoose") {
        const auto router = manifest_get<std::string>(j, "router", dir);
        std::vector<torch::Tensor> vectors;
        if (router != "merged")
          for (int l = 0; l < c.n_layer; ++l)
            for (int s = 0; s < kLinearSites; ++s) {
              auto it = t.find("route." + module_name(l, LinearSite(s)));
              if (it == t.end()) throw file_error(file, "missing routing vectors " + module_name(l, LinearSite(s)));
              vectors.push_back(it->second);
            }
        adapter_ = std::make_shared<RoutedLoraAdapter>(loras_, vectors, j.value("top_k", 2),
                                                       router == "arrow");
      }
    } else if (method == "full_experts") {
      for (const auto& sub : manifest_get<std::vector<std::string>>(j, "dirs", dir)) {
        LoadedSpecialist e = load_specialist_safetensors(resolve(dir, sub));
        if (e.theta.size() != size_t(theta0_.numel()))
          throw file_error(e.source, "its model shape differs from the base's");
        full_.push_back(torch::from_blob(e.theta.data(), {theta0_.numel()}, torch::kFloat32).clone().to(dev));
      }
    } else if (method == "wemoe") {
      const auto experts_dir = resolve(dir, manifest_get<std::string>(j, "experts_dir", dir));
      auto experts = Bank::load(experts_dir, device);
      const auto& eb = dynamic_cast<const PosthocBank&>(*experts);
      const double lambda = manifest_get<double>(j, "lambda", dir);
      auto layers = WemoeAdapter::make_layers(theta0_, eb.full_, c, j.value("router_hidden", 0), 0);
      const auto file = dir + "/" + manifest_get<std::string>(j, "tensors", dir);
      const auto t = load_tensor_map(file, dev);
      auto wemoe = std::make_shared<WemoeAdapter>(std::move(layers), lambda);
      for (auto& [name, tensor] : wemoe->router_tensors()) {
        auto it = t.find(name);
        if (it == t.end() || it->second.sizes() != tensor.sizes())
          throw file_error(file, "missing or misshapen router tensor " + name);
        tensor.copy_(it->second);
      }
      theta0_ = theta0_.clone();
      {
        torch::NoGradGuard g;
        for (const auto& e : eb.full_) theta0_.add_(e - base_spec.theta(), lambda);  // task arithmetic
      }
      adapter_ = wemoe;
    } else {
      throw file_error(dir + "/manifest.json", "unknown method \"" + method + "\"");
    }
  }

  const BankFacts& facts() const override { return facts_; }

  std::shared_ptr<const Specialist> instantiate(const std::vector<double>& h_in) const override {
    // Routed and merged systems do not use h; an empty h means "no preference" (uniform).
    const size_t k = facts_.domains.size();
    std::vector<double> h = k == 0 ? h_in
                            : h_in.empty() ? uniform_domain_weights(k)
                                           : normalize_domain_weights(h_in, k);
    if (adapter_) return std::make_shared<SpecialistImpl>(theta0_, facts_.config.model, h, 0.0, adapter_);
    // Expert folders: the expert of the domain with the largest weight.
    size_t best = 0;
    double best_w = -1;
    for (size_t i = 0; i < expert_index_.size(); ++i) {
      const double w = expert_index_[i] >= 0 && size_t(expert_index_[i]) < h.size() ? h[size_t(expert_index_[i])] : 0;
      if (w > best_w) best = i, best_w = w;
    }
    if (!full_.empty()) return std::make_shared<SpecialistImpl>(full_[best], facts_.config.model, h, 0.0);
    auto one = std::make_shared<OwnedLora>(loras_[best]);
    return std::make_shared<SpecialistImpl>(theta0_, facts_.config.model, h, 0.0, one);
  }

 private:
  // A single LoRA expert whose adapter owns its tensors.
  struct OwnedLora final : GptAdapter {
    explicit OwnedLora(LoraExpert e) : expert(std::move(e)), mix({&expert}, {1.0}) {}
    torch::Tensor linear(int l, LinearSite s, const torch::Tensor& x, const torch::Tensor& y) const override {
      return mix.linear(l, s, x, y);
    }
    LoraExpert expert;
    LoraMixAdapter mix;
  };

  BankFacts facts_;
  torch::Tensor theta0_;
  std::vector<int> expert_index_;
  std::vector<LoraExpert> loras_;
  std::vector<torch::Tensor> full_;
  std::shared_ptr<const GptAdapter> adapter_;
};

}  // namespace

std::shared_ptr<const Bank> load_posthoc_bank(const std::string& dir, const std::string& device) {
  return std::make_shared<PosthocBank>(dir, device);
}

}  // namespace souplab
