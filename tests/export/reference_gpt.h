#pragma once
// A plain C++ forward of the GPT-2 layout model (no libtorch), accumulating in double: the
// reference the exported ONNX model is checked against. The lead's libtorch test checks the
// engine's forward against the same math, which closes the loop libtorch == ONNX.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace export_test {

// ids: B*T byte values; returns logits B*T*V (row-major).
inline std::vector<float> reference_gpt_forward(const souplab::ModelConfig& c, const souplab::ParamLayout& layout,
                                                const float* theta, const std::vector<int64_t>& ids, int B, int T) {
  const int C = c.n_embd, V = c.vocab_size, nh = c.n_head, hs = C / nh;
  auto p = [&](const std::string& name) { return theta + layout.at(name).offset; };
  using Mat = std::vector<std::vector<double>>;  // [T][width]
  auto layer_norm = [&](const Mat& x, const std::string& prefix) {
    const float* w = p(prefix + ".weight");
    const float* b = p(prefix + ".bias");
    Mat out(x.size(), std::vector<double>(size_t(C)));
    for (size_t t = 0; t < x.size(); ++t) {
      double mean = 0, var = 0;
      for (int i = 0; i < C; ++i) mean += x[t][size_t(i)];
      mean /= C;
      for (int i = 0; i < C; ++i) var += (x[t][size_t(i)] - mean) * (x[t][size_t(i)] - mean);
      var /= C;  // biased, as LayerNorm
      const double inv = 1.0 / std::sqrt(var + 1e-5);
      for (int i = 0; i < C; ++i) out[t][size_t(i)] = (x[t][size_t(i)] - mean) * inv * w[i] + b[i];
    }
    return out;
  };
  auto linear = [&](const Mat& x, const std::string& prefix) {  // Conv1D: x @ W(in, out) + b
    const auto& e = layout.at(prefix + ".weight");
    const int in = int(e.shape[0]), outw = int(e.shape[1]);
    const float* w = theta + e.offset;
    const float* b = p(prefix + ".bias");
    Mat out(x.size(), std::vector<double>(size_t(outw)));
    for (size_t t = 0; t < x.size(); ++t)
      for (int j = 0; j < outw; ++j) {
        double s = b[j];
        for (int i = 0; i < in; ++i) s += x[t][size_t(i)] * double(w[size_t(i) * size_t(outw) + size_t(j)]);
        out[t][size_t(j)] = s;
      }
    return out;
  };

  std::vector<float> logits(size_t(B) * size_t(T) * size_t(V));
  for (int bi = 0; bi < B; ++bi) {
    Mat x = Mat(size_t(T), std::vector<double>(size_t(C)));
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < C; ++i)
        x[size_t(t)][size_t(i)] = double(p("wte.weight")[ids[size_t(bi * T + t)] * C + i]) +
                                  double(p("wpe.weight")[t * C + i]);
    for (int l = 0; l < c.n_layer; ++l) {
      const std::string h = "h." + std::to_string(l);
      const Mat qkv = linear(layer_norm(x, h + ".ln_1"), h + ".attn.c_attn");  // (T, 3C)
      Mat y(size_t(T), std::vector<double>(size_t(C), 0.0));
      for (int head = 0; head < nh; ++head)
        for (int i = 0; i < T; ++i) {
          std::vector<double> att(size_t(i) + 1);
          double mx = -INFINITY;
          for (int j = 0; j <= i; ++j) {  // causal: keys j <= query i
            double s = 0;
            for (int d = 0; d < hs; ++d)
              s += qkv[size_t(i)][size_t(head * hs + d)] * qkv[size_t(j)][size_t(C + head * hs + d)];
            att[size_t(j)] = s / std::sqrt(double(hs));
            mx = std::max(mx, att[size_t(j)]);
          }
          double z = 0;
          for (auto& a : att) z += (a = std::exp(a - mx));
          for (int j = 0; j <= i; ++j)
            for (int d = 0; d < hs; ++d)
              y[size_t(i)][size_t(head * hs + d)] += att[size_t(j)] / z * qkv[size_t(j)][size_t(2 * C + head * hs + d)];
        }
      const Mat proj = linear(y, h + ".attn.c_proj");
      for (int t = 0; t < T; ++t)
        for (int i = 0; i < C; ++i) x[size_t(t)][size_t(i)] += proj[size_t(t)][size_t(i)];
      Mat u = linear(layer_norm(x, h + ".ln_2"), h + ".mlp.c_fc");
      const double k = std::sqrt(2.0 / std::acos(-1.0));
      for (auto& row : u)
        for (auto& v : row) v = 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v)));
      const Mat m = linear(u, h + ".mlp.c_proj");
      for (int t = 0; t < T; ++t)
        for (int i = 0; i < C; ++i) x[size_t(t)][size_t(i)] += m[size_t(t)][size_t(i)];
    }
    const Mat xf = layer_norm(x, "ln_f");
    const float* wte = p("wte.weight");
    for (int t = 0; t < T; ++t)
      for (int v = 0; v < V; ++v) {
        double s = 0;
        for (int i = 0; i < C; ++i) s += xf[size_t(t)][size_t(i)] * double(wte[v * C + i]);
        logits[(size_t(bi) * size_t(T) + size_t(t)) * size_t(V) + size_t(v)] = float(s);
      }
  }
  return logits;
}

}  // namespace export_test
