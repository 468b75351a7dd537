#include "engine/nn/gpt.h"

#include <cmath>

#include "engine/nn/causal_attention.h"
#include "engine/nn/cpu_gemm.h"
#include "engine/nn/gpt_grouped.h"
#include "engine/nn/linear.h"
#include "engine/nn/torch_compat.h"

namespace souplab {
namespace {

constexpr double kLayerNormEps = 1e-5;

// x (N, in) @ w (in, out) + b: GPT-2's Conv1D orientation.
torch::Tensor conv1d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return linear_layer(x, w, b);
}

}  // namespace

const char* linear_site_name(LinearSite s) {
  switch (s) {
    case LinearSite::kAttn: return "attn.c_attn";
    case LinearSite::kAttnProj: return "attn.c_proj";
    case LinearSite::kFc: return "mlp.c_fc";
    case LinearSite::kMlpProj: return "mlp.c_proj";
  }
  return "?";
}

namespace {

// The weights of one model from its entries' tensors, in layout order.
GptWeights weights_from(const std::vector<torch::Tensor>& parts, const ModelConfig& c, const ParamLayout& layout) {
  size_t next = 0;
  auto take = [&](const std::string& name) {  // entries come in layout order: check, then take
    TORCH_CHECK(next < parts.size() && layout.entries[next].name == name, "gpt_weights: layout out of order at ", name);
    return parts[next++];
  };
  GptWeights w;
  w.wte = take("wte.weight");
  w.wpe = take("wpe.weight");
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    GptWeights::Block b;
    b.ln_1_w = take(h + "ln_1.weight");
    b.ln_1_b = take(h + "ln_1.bias");
    b.attn_w = take(h + "attn.c_attn.weight");
    b.attn_b = take(h + "attn.c_attn.bias");
    b.proj_w = take(h + "attn.c_proj.weight");
    b.proj_b = take(h + "attn.c_proj.bias");
    b.ln_2_w = take(h + "ln_2.weight");
    b.ln_2_b = take(h + "ln_2.bias");
    b.fc_w = take(h + "mlp.c_fc.weight");
    b.fc_b = take(h + "mlp.c_fc.bias");
    b.mlp_proj_w = take(h + "mlp.c_proj.weight");
    b.mlp_proj_b = take(h + "mlp.c_proj.bias");
    w.blocks.push_back(std::move(b));
  }
  w.ln_f_w = take("ln_f.weight");
  w.ln_f_b = take("ln_f.bias");
  return w;
}

std::vector<int64_t> entry_sizes(const ParamLayout& layout) {
  std::vector<int64_t> sizes;
  for (const auto& e : layout.entries) sizes.push_back(e.numel);
  return sizes;
}

}  // namespace

// One split_with_sizes rather than a narrow per tensor: its backward writes dL/dtheta once (a
// cat of the pieces' gradients), where each narrow's backward would write a zero-padded
// full-size (P) tensor and autograd would then add ~12 L of them up.
GptWeights gpt_weights(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout) {
  auto parts = theta.split_with_sizes(entry_sizes(layout));
  for (size_t i = 0; i < parts.size(); ++i) parts[i] = parts[i].view(layout.entries[i].shape);
  return weights_from(parts, c, layout);
}

std::vector<GptWeights> gpt_weights_grouped(const torch::Tensor& thetas, const ModelConfig& c,
                                            const ParamLayout& layout) {
  const int64_t G = thetas.size(0);
  std::vector<std::vector<torch::Tensor>> parts{size_t(G)};
  const auto pieces = thetas.split_with_sizes(entry_sizes(layout), 1);  // (G, numel) each
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto rows = pieces[i].unbind(0);  // backward: one stack per entry
    for (int64_t g = 0; g < G; ++g) parts[size_t(g)].push_back(rows[size_t(g)].view(layout.entries[i].shape));
  }
  std::vector<GptWeights> out;
  for (const auto& p : parts) out.push_back(weights_from(p, c, layout));
  return out;
}

void init_params(torch::Tensor theta, const ParamLayout& layout, double scale, double ones_value,
                 torch::Generator generator) {
  torch::NoGradGuard no_grad;
  for (const auto& e : layout.entries) {
    auto v = theta.narrow(0, e.offset, e.numel);
    switch (e.init) {
      case ParamInit::kNormal:
        v.normal_(0.0, e.init_std * scale, generator);
        break;
      case ParamInit::kZeros:
        v.zero_();
        break;
      case ParamInit::kOnes:
        v.fill_(ones_value);
        break;
    }
  }
}

namespace {

// Causal self-attention of qkv (B, T, 3, nh, hs) over its own tokens (no cache); (B*T, C).
torch::Tensor self_attention(const torch::Tensor& qkv) {
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(3) * qkv.size(4);
  if (compat::attention_path().load(std::memory_order_relaxed) == compat::AttentionPath::kSouplab &&
      fused_causal_attention_applies(qkv))
    return fused_causal_attention(qkv).view({B * T, C});  // (B, T, nh, hs): heads side by side already
  auto q = qkv.select(2, 0).transpose(1, 2);  // (B, nh, T, hs)
  auto k = qkv.select(2, 1).transpose(1, 2);
  auto v = qkv.select(2, 2).transpose(1, 2);
  return compat::causal_attention(q, k, v, 0).transpose(1, 2).reshape({B * T, C});
}

// The one forward pass. With a cache, idx holds the tokens after the cached ones and their keys
// and values are appended; without one, idx is the whole sequence.
// `mlp` (may be null) replaces some blocks' MLPs; the dense path pays one null check per block.
torch::Tensor forward_impl(const GptWeights& w, const ModelConfig& c, const torch::Tensor& idx,
                           KVCache* cache, const MlpOverride* mlp, const GptAdapter* ad) {
  TORCH_CHECK(idx.dim() == 2, "gpt_forward: idx must be (B, T)");
  const int64_t B = idx.size(0), T = idx.size(1), C = c.n_embd, nh = c.n_head, hs = C / nh;
  const int64_t past = cache ? cache->length : 0, total = past + T;
  TORCH_CHECK(total <= c.block_size, "gpt_forward: ", total, " positions exceed block_size ",
              c.block_size);
  if (cache && cache->keys.empty()) {
    cache->keys.resize(w.blocks.size());
    cache->values.resize(w.blocks.size());
  }
  if (cache && ad && cache->adapter_state.empty()) cache->adapter_state.resize(w.blocks.size());
  // A linear layer, through the adapter when there is one.
  auto lin = [ad](int l, LinearSite s, const torch::Tensor& in, const torch::Tensor& wt,
                  const torch::Tensor& bias) {
    auto y = conv1d(in, wt, bias);
    return ad ? ad->linear(l, s, in, y) : y;
  };
  auto x = w.wte.index_select(0, idx.reshape(-1)).view({B, T, C}) + w.wpe.narrow(0, past, T);  // (B, T, C)
  for (size_t l = 0; l < w.blocks.size(); ++l) {
    const auto& b = w.blocks[l];
    auto a = torch::layer_norm(x, {C}, b.ln_1_w, b.ln_1_b, kLayerNormEps).view({B * T, C});
    const int li = int(l);
    auto qkv = lin(li, LinearSite::kAttn, a, b.attn_w, b.attn_b).view({B, T, 3, nh, hs});
    torch::Tensor y;  // (B*T, C)
    if (!cache) {
      y = self_attention(qkv);
    } else {
      auto q = qkv.select(2, 0).transpose(1, 2);  // (B, nh, T, hs)
      auto k = qkv.select(2, 1).transpose(1, 2);
      auto v = qkv.select(2, 2).transpose(1, 2);
      // The cache holds room for the whole context, allocated once: each new token is written
      // in place, where concatenating reallocated and copied every layer's cache per token
      // (perf: cat, page faults and malloc among the top costs of generation).
      // (total <= block_size is checked above, so the first allocation never has to grow.)
      auto& K = cache->keys[l];
      auto& V = cache->values[l];
      if (!K.defined()) {
        K = torch::empty({B, nh, c.block_size, hs}, k.options());
        V = torch::empty_like(K);
      }
      K.narrow(2, past, T).copy_(k);
      V.narrow(2, past, T).copy_(v);
      k = K.narrow(2, 0, total);  // (B, nh, total, hs)
      v = V.narrow(2, 0, total);
      y = compat::causal_attention(q, k, v, past).transpose(1, 2).reshape({B * T, C});
    }
    x = x + lin(li, LinearSite::kAttnProj, y, b.proj_w, b.proj_b).view({B, T, C});
    auto m = torch::layer_norm(x, {C}, b.ln_2_w, b.ln_2_b, kLayerNormEps).view({B * T, C});
    if (mlp) {  // sparse MoE blocks (moe.h)
      auto out = (*mlp)(int(l), m);  // (B*T, C) or undefined: this block stays dense
      if (out.defined()) {
        x = x + out.view({B, T, C});
        continue;
      }
    }
    if (ad) {  // post-hoc adapters (posthoc.h)
      auto replaced = ad->mlp(li, m.view({B, T, C}), b, past, cache ? &cache->adapter_state[l] : nullptr);
      if (replaced.defined()) {
        x = x + replaced;
        continue;
      }
    }
    m = torch::gelu(lin(li, LinearSite::kFc, m, b.fc_w, b.fc_b), "tanh");
    x = x + lin(li, LinearSite::kMlpProj, m, b.mlp_proj_w, b.mlp_proj_b).view({B, T, C});
  }
  if (cache) cache->length = total;
  x = torch::layer_norm(x, {C}, w.ln_f_w, w.ln_f_b, kLayerNormEps);
  return linear_layer(x.view({B * T, C}), w.wte.t(), {}).view({B, T, -1});  // tied output embedding: (B, T, V)
}

}  // namespace

torch::Tensor gpt_forward(const torch::Tensor& theta, const ModelConfig& c,
                          const ParamLayout& layout, const torch::Tensor& idx,
                          const GptAdapter* adapter) {
  return forward_impl(gpt_weights(theta, c, layout), c, idx, nullptr, nullptr, adapter);
}

torch::Tensor gpt_forward_with_mlp(const torch::Tensor& theta, const ModelConfig& c,
                                   const ParamLayout& layout, const torch::Tensor& idx,
                                   const MlpOverride& mlp, KVCache* cache) {
  return forward_impl(gpt_weights(theta, c, layout), c, idx, cache, &mlp, nullptr);
}

torch::Tensor gpt_forward_cached(const torch::Tensor& theta, const ModelConfig& c,
                                 const ParamLayout& layout, const torch::Tensor& idx, KVCache& cache,
                                 const GptAdapter* adapter) {
  return forward_impl(gpt_weights(theta, c, layout), c, idx, &cache, nullptr, adapter);
}

torch::Tensor gpt_forward(const GptWeights& w, const ModelConfig& c, const torch::Tensor& idx) {
  return forward_impl(w, c, idx, nullptr, nullptr, nullptr);
}

bool gpt_forward_grouped_pays(const torch::Tensor& thetas) {
  return !(cpu_sgemm_enabled() && thetas.device().is_cpu() && thetas.scalar_type() == torch::kFloat32);
}

torch::Tensor gpt_forward_grouped(const torch::Tensor& thetas, const ModelConfig& c, const ParamLayout& layout,
                                  const torch::Tensor& idx) {
  TORCH_CHECK(thetas.dim() == 2 && idx.dim() == 2, "gpt_forward_grouped: thetas must be (G, P), idx (B, T)");
  const int64_t G = thetas.size(0), B = idx.size(0), T = idx.size(1), C = c.n_embd, V = c.vocab_size;
  TORCH_CHECK(G > 0 && B % G == 0, "gpt_forward_grouped: ", B, " rows do not split into ", G, " groups");
  TORCH_CHECK(T <= c.block_size, "gpt_forward_grouped: ", T, " positions exceed block_size ", c.block_size);
  const int64_t rows = B / G * T;  // tokens per group
  // Every weight with a leading group dimension: (G, in, out) views of thetas, whose backward
  // writes dL/dthetas once (one cat), as gpt_weights does for one theta.
  auto parts = thetas.split_with_sizes(entry_sizes(layout), 1);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::vector<int64_t> shape{G};
    for (auto d : layout.entries[i].shape) shape.push_back(d);
    parts[i] = parts[i].view(shape);
  }
  const GptWeights w = weights_from(parts, c, layout);
  // Per-group vectors broadcast over the group's tokens: (G, 1, n).
  auto row = [](const torch::Tensor& v) { return v.unsqueeze(1); };
  auto norm = [&](const torch::Tensor& x, const torch::Tensor& gain, const torch::Tensor& bias) {
    return torch::addcmul(row(bias), torch::layer_norm(x, {C}, {}, {}, kLayerNormEps), row(gain));
  };
  auto lin = [&](const torch::Tensor& x, const torch::Tensor& wt, const torch::Tensor& bias) {
    return torch::baddbmm(row(bias), x, wt);  // (G, rows, in) x (G, in, out) + (G, 1, out)
  };
  // Token embeddings, group by group (the only op that runs G times; unbind's backward is one stack).
  const auto tables = w.wte.unbind(0);
  const auto ids = idx.reshape({G, rows});
  std::vector<torch::Tensor> embedded;
  for (int64_t g = 0; g < G; ++g) embedded.push_back(tables[size_t(g)].index_select(0, ids[g]));
  auto x = (torch::stack(embedded).view({G, B / G, T, C}) + w.wpe.narrow(1, 0, T).unsqueeze(1)).view({G, rows, C});
  const int64_t nh = c.n_head, hs = C / nh;
  for (const auto& b : w.blocks) {
    auto qkv = lin(norm(x, b.ln_1_w, b.ln_1_b), b.attn_w, b.attn_b).view({B, T, 3, nh, hs});
    x = x + lin(self_attention(qkv).view({G, rows, C}), b.proj_w, b.proj_b);
    auto m = torch::gelu(lin(norm(x, b.ln_2_w, b.ln_2_b), b.fc_w, b.fc_b), "tanh");
    x = x + lin(m, b.mlp_proj_w, b.mlp_proj_b);
  }
  x = norm(x, w.ln_f_w, w.ln_f_b);
  return torch::bmm(x, w.wte.transpose(1, 2)).view({B, T, V});  // tied output embedding
}

torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              targets.reshape({-1}));
}

torch::Tensor decay_mask(const ParamLayout& layout) {
  auto mask = torch::zeros({layout.total});
  for (const auto& e : layout.entries)
    if (e.decay) mask.narrow(0, e.offset, e.numel).fill_(1.0);
  return mask;
}

}  // namespace souplab
