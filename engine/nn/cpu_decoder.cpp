#include "engine/nn/cpu_decoder.h"

#include <ATen/Parallel.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/nn/simd_clones.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define SOUPLAB_HAVE_F16C_CLONE 1
#endif

namespace souplab {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // as gpt.cpp's

// y (n, out) += x (n, in) @ W (in, out), W row-major (GPT-2's Conv1D orientation).
// Four rows of W at a time update each output row, so y is read and written a quarter as often
// as W is read; every row of x shares the pass over W. Columns [o0, o1) only (for threads).
SOUPLAB_SIMD_CLONES void matmul_cols(const float* __restrict x, int n, int in, const float* __restrict W, int out,
                                     float* __restrict y, int o0, int o1) {
  int i = 0;
  for (; i + 4 <= in; i += 4) {
    const float *w0 = W + int64_t(i) * out, *w1 = w0 + out, *w2 = w1 + out, *w3 = w2 + out;
    for (int r = 0; r < n; ++r) {
      const float* xr = x + int64_t(r) * in + i;
      const float x0 = xr[0], x1 = xr[1], x2 = xr[2], x3 = xr[3];
      float* __restrict yr = y + int64_t(r) * out;
      for (int o = o0; o < o1; ++o) yr[o] += x0 * w0[o] + x1 * w1[o] + x2 * w2[o] + x3 * w3[o];
    }
  }
  for (; i < in; ++i) {
    const float* wi = W + int64_t(i) * out;
    for (int r = 0; r < n; ++r) {
      const float xi = x[int64_t(r) * in + i];
      float* __restrict yr = y + int64_t(r) * out;
      for (int o = o0; o < o1; ++o) yr[o] += xi * wi[o];
    }
  }
}

#ifdef SOUPLAB_HAVE_F16C_CLONE
// The same with W in IEEE half: eight weights per load through F16C's conversion (every x86-64
// CPU since 2012; the portable loop below serves the rest).
__attribute__((target("avx2,f16c"))) inline __m256 w8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
__attribute__((target("avx2,f16c"))) void matmul_cols_f16_avx2(const float* x, int n, int in, const uint16_t* W,
                                                                int out, float* y, int o0, int o1) {
  int i = 0;
  const int o_vec = o0 + (o1 - o0) / 8 * 8;
  for (; i + 4 <= in; i += 4) {
    const uint16_t *w0 = W + int64_t(i) * out, *w1 = w0 + out, *w2 = w1 + out, *w3 = w2 + out;
    for (int r = 0; r < n; ++r) {
      const float* xr = x + int64_t(r) * in + i;
      const __m256 x0 = _mm256_set1_ps(xr[0]), x1 = _mm256_set1_ps(xr[1]), x2 = _mm256_set1_ps(xr[2]),
                   x3 = _mm256_set1_ps(xr[3]);
      float* yr = y + int64_t(r) * out;
      int o = o0;
      for (; o < o_vec; o += 8) {
        __m256 acc = _mm256_add_ps(_mm256_mul_ps(x0, w8(w0 + o)), _mm256_mul_ps(x1, w8(w1 + o)));
        acc = _mm256_add_ps(acc, _mm256_add_ps(_mm256_mul_ps(x2, w8(w2 + o)), _mm256_mul_ps(x3, w8(w3 + o))));
        _mm256_storeu_ps(yr + o, _mm256_add_ps(_mm256_loadu_ps(yr + o), acc));
      }
      for (; o < o1; ++o)
        yr[o] += xr[0] * _cvtsh_ss(w0[o]) + xr[1] * _cvtsh_ss(w1[o]) + xr[2] * _cvtsh_ss(w2[o]) + xr[3] * _cvtsh_ss(w3[o]);
    }
  }
  for (; i < in; ++i) {
    const uint16_t* wi = W + int64_t(i) * out;
    for (int r = 0; r < n; ++r) {
      const float xi = x[int64_t(r) * in + i];
      float* yr = y + int64_t(r) * out;
      for (int o = o0; o < o1; ++o) yr[o] += xi * _cvtsh_ss(wi[o]);
    }
  }
}
#endif

// y (n, out) += x @ W over columns [o0, o1), W in half.
void matmul_cols_f16(const float* x, int n, int in, const uint16_t* W, int out, float* y, int o0, int o1) {
#ifdef SOUPLAB_HAVE_F16C_CLONE
  static const bool f16c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  if (f16c) {
    matmul_cols_f16_avx2(x, n, in, W, out, y, o0, o1);
    return;
  }
#endif
  for (int i = 0; i < in; ++i) {
    const uint16_t* wi = W + int64_t(i) * out;
    for (int r = 0; r < n; ++r) {
      const float xi = x[int64_t(r) * in + i];
      float* yr = y + int64_t(r) * out;
      for (int o = o0; o < o1; ++o) yr[o] += xi * float(c10::Half(wi[o], c10::Half::from_bits()));
    }
  }
}

// cols(o0, o1) over all columns of a layer, split across libtorch's intra-op threads when the
// layer is large enough to pay for waking them (at 2 threads, ~64 K multiply-adds per token and up).
template <class Cols>
void split_columns(int n, int in, int out, const Cols& cols) {
  const int64_t work = int64_t(n) * in * out;
  if (work < (int64_t(1) << 16) || at::get_num_threads() == 1) {
    cols(0, out);
    return;
  }
  constexpr int kChunk = 64;  // columns per task: whole cache lines, a few tasks per thread
  at::parallel_for(0, (out + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
    cols(int(c0) * kChunk, std::min(out, int(c1) * kChunk));
  });
}

// y (n, out) = [y +] b + x (n, in) @ W, W in float32 (w32) or half (w16); b may be null.
void matmul(const float* x, int n, int in, const float* w32, const uint16_t* w16, int out, const float* b, float* y,
            bool accumulate) {
  split_columns(n, in, out, [&](int o0, int o1) {
    for (int r = 0; r < n; ++r) {  // y starts as [y +] b on these columns
      float* yr = y + int64_t(r) * out;
      if (!accumulate) std::fill(yr + o0, yr + o1, 0.0f);
      if (b)
        for (int o = o0; o < o1; ++o) yr[o] += b[o];
    }
    if (w16)
      matmul_cols_f16(x, n, in, w16, out, y, o0, o1);
    else
      matmul_cols(x, n, in, w32, out, y, o0, o1);
  });
}

// out = layer_norm(x) * w + b over C floats, for each of n rows (biased variance, as torch's).
void layer_norm_rows(const float* x, int n, int C, const float* w, const float* b, float* out) {
  for (int r = 0; r < n; ++r) {
    const float* xr = x + int64_t(r) * C;
    float* o = out + int64_t(r) * C;
    double mean = 0, var = 0;
    for (int i = 0; i < C; ++i) mean += xr[i];
    mean /= C;
    for (int i = 0; i < C; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const float m = float(mean), inv = float(1.0 / std::sqrt(var / C + kLayerNormEps));
    for (int i = 0; i < C; ++i) o[i] = (xr[i] - m) * inv * w[i] + b[i];
  }
}

// GELU, tanh approximation (GPT-2's, torch::gelu(x, "tanh")).
void gelu_tanh(float* v, int64_t n) {
  constexpr float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = 0; i < n; ++i) v[i] = 0.5f * v[i] * (1.0f + std::tanh(k * (v[i] + 0.044715f * v[i] * v[i] * v[i])));
}

}  // namespace

bool CpuDecoder::applies(const torch::Tensor& theta) {
  return theta.defined() && theta.device().is_cpu() && theta.scalar_type() == torch::kFloat32 &&
         theta.is_contiguous() && !theta.requires_grad();
}

CpuDecoder::Matrix CpuDecoder::matrix(const float* w, int64_t numel) {
  if (!f16_) return {w, nullptr};
  halves_.push_back(torch::from_blob(const_cast<float*>(w), {numel}, torch::kFloat32).to(torch::kHalf));
  return {nullptr, reinterpret_cast<const uint16_t*>(halves_.back().data_ptr<at::Half>())};
}

CpuDecoder::CpuDecoder(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout, int rows,
                       bool f16_weights)
    : rows_(rows), C_(c.n_embd), H_(c.n_head), hs_(c.n_embd / c.n_head), T_(c.block_size), f16_(f16_weights) {
  TORCH_CHECK(applies(theta), "CpuDecoder: theta must be a contiguous float32 CPU tensor");
  TORCH_CHECK(rows >= 1, "CpuDecoder: rows must be >= 1");
  const float* base = theta.data_ptr<float>();
  const auto at = [&](const std::string& name) { return base + layout.at(name).offset; };
  const auto mat = [&](const std::string& name) { return matrix(at(name), layout.at(name).numel); };
  wte_ = at("wte.weight");
  wpe_ = at("wpe.weight");
  V_ = int(layout.at("wte.weight").shape.at(0));
  for (int l = 0; l < c.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    blocks_.push_back({at(h + "ln_1.weight"), at(h + "ln_1.bias"), mat(h + "attn.c_attn.weight"),
                       at(h + "attn.c_attn.bias"), mat(h + "attn.c_proj.weight"), at(h + "attn.c_proj.bias"),
                       at(h + "ln_2.weight"), at(h + "ln_2.bias"), mat(h + "mlp.c_fc.weight"),
                       at(h + "mlp.c_fc.bias"), mat(h + "mlp.c_proj.weight"), at(h + "mlp.c_proj.bias")});
  }
  F_ = int(layout.at("h.0.mlp.c_fc.weight").shape.at(1));
  ln_f_w_ = at("ln_f.weight");
  ln_f_b_ = at("ln_f.bias");
  wte_t_.resize(size_t(C_) * V_);
  for (int v = 0; v < V_; ++v)
    for (int i = 0; i < C_; ++i) wte_t_[size_t(i) * V_ + v] = wte_[size_t(v) * C_ + i];
  head_ = matrix(wte_t_.data(), int64_t(wte_t_.size()));
  keys_t_.assign(blocks_.size(), std::vector<float>(size_t(rows) * C_ * T_));
  values_.assign(blocks_.size(), std::vector<float>(size_t(rows) * T_ * C_));
  x_.resize(size_t(rows) * C_);
  a_.resize(size_t(rows) * C_);
  qkv_.resize(size_t(rows) * 3 * C_);
  y_.resize(size_t(rows) * C_);
  f_.resize(size_t(rows) * F_);
  scores_.resize(size_t(T_));
  logits_.resize(size_t(rows) * V_);
}

void CpuDecoder::attend(int layer) {
  const int64_t p = length_, C = C_, T = T_;
  const float scale = 1.0f / std::sqrt(float(hs_));
  for (int r = 0; r < rows_; ++r) {
    const float* q = qkv_.data() + int64_t(r) * 3 * C;
    const float *k = q + C, *v = q + 2 * C;
    float* kt = keys_t_[size_t(layer)].data() + int64_t(r) * C * T;  // (H, hs, T) = (C, T)
    float* vals = values_[size_t(layer)].data() + int64_t(r) * T * C;
    for (int64_t i = 0; i < C; ++i) kt[i * T + p] = k[i];
    std::copy(v, v + C, vals + p * C);
    float* y = y_.data() + int64_t(r) * C;
    for (int h = 0; h < H_; ++h) {
      float* __restrict s = scores_.data();
      std::fill(s, s + p + 1, 0.0f);
      for (int d = 0; d < hs_; ++d) {  // s[j] += q_d k_j,d over the cached positions j <= p
        const float qd = q[h * hs_ + d] * scale;
        const float* __restrict kd = kt + int64_t(h * hs_ + d) * T;
        for (int64_t j = 0; j <= p; ++j) s[j] += qd * kd[j];
      }
      const float mx = *std::max_element(s, s + p + 1);
      float sum = 0;
      for (int64_t j = 0; j <= p; ++j) sum += (s[j] = std::exp(s[j] - mx));
      float* __restrict yh = y + h * hs_;
      std::fill(yh, yh + hs_, 0.0f);
      for (int64_t j = 0; j <= p; ++j) {
        const float w = s[j] / sum;
        const float* __restrict vj = vals + j * C + h * hs_;
        for (int d = 0; d < hs_; ++d) yh[d] += w * vj[d];
      }
    }
  }
}

const float* CpuDecoder::step(const int64_t* tokens) {
  TORCH_CHECK(length_ < T_, "CpuDecoder: position ", length_, " is past block_size ", T_);
  const int n = rows_, C = C_;
  const auto mm = [n](const float* x, int in, const Matrix& w, int out, const float* b, float* y, bool accumulate) {
    matmul(x, n, in, w.f32, w.f16, out, b, y, accumulate);
  };
  for (int r = 0; r < n; ++r) {
    const int64_t t = tokens[r];
    TORCH_CHECK(t >= 0 && t < V_, "CpuDecoder: token ", t, " outside the vocabulary");
    for (int i = 0; i < C; ++i) x_[size_t(r) * C + i] = wte_[t * C + i] + wpe_[length_ * C + i];
  }
  for (size_t l = 0; l < blocks_.size(); ++l) {
    const Block& b = blocks_[l];
    layer_norm_rows(x_.data(), n, C, b.ln_1_w, b.ln_1_b, a_.data());
    mm(a_.data(), C, b.attn_w, 3 * C, b.attn_b, qkv_.data(), false);
    attend(int(l));
    mm(y_.data(), C, b.proj_w, C, b.proj_b, x_.data(), true);
    layer_norm_rows(x_.data(), n, C, b.ln_2_w, b.ln_2_b, a_.data());
    mm(a_.data(), C, b.fc_w, F_, b.fc_b, f_.data(), false);
    gelu_tanh(f_.data(), int64_t(n) * F_);
    mm(f_.data(), F_, b.mlp_proj_w, C, b.mlp_proj_b, x_.data(), true);
  }
  ++length_;
  layer_norm_rows(x_.data(), n, C, ln_f_w_, ln_f_b_, a_.data());
  mm(a_.data(), C, head_, V_, nullptr, logits_.data(), false);
  return logits_.data();
}

}  // namespace souplab
