// Post-hoc adapters (LoRA mixes, PHATGOOSE-style routing, WEMoE MLPs) and their files.
#include "engine/nn/posthoc.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "souplab/atomic_file.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "engine/core/safetensors.h"
#include "engine/export/specialist_export.h"
#include "souplab/device.h"

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

torch::Tensor WemoeAdapter::routing(int layer, const torch::Tensor& m, int64_t past, torch::Tensor* state) const {
  const Layer& L = layers_[size_t(layer)];
  const int64_t B = m.size(0), T = m.size(1), n = L.tau_fc_b.size(0);
  // Router input: mean of m over positions 0..t (the prefix, including the cached tokens).
  auto sums = m.cumsum(1);  // (B, T, C)
  if (state && state->defined()) sums = sums + state->unsqueeze(1);
  if (state) *state = sums.select(1, T - 1).detach();
  auto counts = torch::arange(past + 1, past + T + 1, m.options()).view({1, T, 1});
  auto mean = sums / counts;
  auto r = torch::relu(torch::matmul(mean, L.w1) + L.b1);
  return (torch::matmul(r, L.w2) + L.b2 + lambda_).reshape({B * T, n});
}

torch::Tensor WemoeAdapter::mlp(int layer, const torch::Tensor& m, const GptWeights::Block&,
                                int64_t past, torch::Tensor* state) const {
  const Layer& L = layers_[size_t(layer)];
  const int64_t B = m.size(0), T = m.size(1), C = m.size(2), n = L.tau_fc_b.size(0);
  auto r = routing(layer, m, past, state).unsqueeze(-1);  // (N, n, 1)
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

// ---- post-hoc folders ---------------------------------------------------------------------------

std::vector<LoraExpert> load_lora_experts(const std::string& file, size_t n, const ModelConfig& c,
                                          const torch::Device& device) {
  const auto t = load_tensor_map(file, device);
  std::vector<LoraExpert> out;
  for (size_t i = 0; i < n; ++i) out.push_back(lora_from_tensors(t, c, "expert." + std::to_string(i) + ".", file));
  return out;
}

std::vector<torch::Tensor> load_full_experts(const std::string& dir, const ModelConfig& c,
                                             const torch::Device& device) {
  const std::string manifest = dir + "/manifest.json";
  std::vector<std::string> subs;
  try {
    const auto j = nlohmann::json::parse(read_file(manifest));
    if (j.value("method", "") != model_kind_name(ModelKind::kFullExperts))
      throw file_error(manifest, "not a folder of full fine-tuned experts (souplab-cli experts --kind full)");
    subs = j.at("dirs").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw file_error(manifest, std::string("not a valid manifest: ") + e.what());
  }
  const int64_t P = gpt_param_layout(c).total;
  std::vector<torch::Tensor> out;
  for (const auto& sub : subs) {
    const std::filesystem::path p(sub);
    LoadedSpecialist e = load_specialist_safetensors(p.is_absolute() ? sub : dir + "/" + sub);
    const ModelConfig& ec = e.config;
    if (ec.n_embd != c.n_embd || ec.n_layer != c.n_layer || ec.block_size != c.block_size ||
        ec.n_head != c.n_head || int64_t(e.theta.size()) != P)
      throw file_error(e.source, "its model shape differs from the base's");
    out.push_back(torch::from_blob(e.theta.data(), {P}, torch::kFloat32).clone().to(device));
  }
  return out;
}

torch::Tensor task_arithmetic(const torch::Tensor& theta0, const std::vector<torch::Tensor>& experts,
                              double lambda) {
  torch::NoGradGuard no_grad;
  torch::Tensor theta = theta0.clone();
  for (const auto& e : experts) theta.add_(e - theta0, lambda);
  return theta;
}

}  // namespace souplab
