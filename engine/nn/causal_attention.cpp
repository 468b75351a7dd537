#include "engine/nn/causal_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/nn/cpu_gemm.h"
#include "engine/nn/simd_clones.h"

namespace souplab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// exp(x) without a libm call, so the loops over a row's scores vectorise (Cephes' expf: range
// reduction by ln 2 in two parts, a degree-6 polynomial, the power of two put in the exponent
// bits; ~1 ulp). Arguments here are scores minus their row's maximum or log-sum-exp, <= ~0;
// the clamp keeps 2^n a normal float (below -87.3 the result is ~1e-38, nothing a softmax
// weight can tell from 0).
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.0f ? 88.0f : x;
  // n = x / ln 2 rounded to nearest: adding and subtracting 1.5 * 2^23 rounds in the FPU.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline void axpy(float* __restrict y, const float* __restrict x, float a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] += a * x[j];
}

// One (sequence, head) of the input: row t of q, k or v starts at base + t * row, hs floats.
struct Head {
  const float* q;
  const float* k;
  const float* v;
  int64_t row;  // 3 * nh * hs: the floats between two positions of qkv
};

// The transpose of k or v, (hs, T) contiguous, so the loops over keys run over contiguous
// floats.
void transpose_into(float* __restrict out, const float* __restrict in, int64_t row, int64_t T, int64_t hs) {
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < hs; ++d) out[d * T + j] = in[j * row + d];
}

// Sum over j < n of w[j] * (row j of m), rows `row` floats apart, scaled by `scale`, into out
// (hs floats). With the head size known at compile time the sum lives in registers; through
// memory every row's update would wait for the previous one's store.
template <int HS>
inline __attribute__((always_inline)) void weighted_rows(float* __restrict out, const float* __restrict w,
                                                         const float* __restrict m, int64_t row, int64_t n,
                                                         int64_t hs_dyn, float scale) {
  if constexpr (HS > 0) {
    float acc[HS] = {};
    for (int64_t j = 0; j < n; ++j) {
      const float* r = m + j * row;
      const float wj = w[j];
      for (int d = 0; d < HS; ++d) acc[d] += wj * r[d];
    }
    for (int d = 0; d < HS; ++d) out[d] = acc[d] * scale;
  } else {
    std::fill(out, out + hs_dyn, 0.0f);
    for (int64_t j = 0; j < n; ++j) axpy(out, m + j * row, w[j], hs_dyn);
    for (int64_t d = 0; d < hs_dyn; ++d) out[d] *= scale;
  }
}

// y row i = softmax_j<=i(scale q_i . k_j) v_j; lse[i] = that softmax's log-sum-exp (what the
// backward needs to rebuild the weights). y rows are `yrow` floats apart. Scratch: kt (hs * T),
// s (T). HS: the head size when it is one of the compiled ones, else 0 (hs_dyn).
template <int HS>
inline __attribute__((always_inline)) void forward_head_impl(const Head h, int64_t T, int64_t hs_dyn, float scale,
                                                             float* __restrict y, int64_t yrow, float* __restrict lse,
                                                             float* __restrict kt, float* __restrict s) {
  const int64_t hs = HS > 0 ? HS : hs_dyn;
  transpose_into(kt, h.k, h.row, T, hs);
  for (int64_t i = 0; i < T; ++i) {
    const int64_t n = i + 1;
    const float* q = h.q + i * h.row;
    std::fill(s, s + n, 0.0f);
    for (int64_t d = 0; d < hs; ++d) axpy(s, kt + d * T, q[d] * scale, n);
    float m = s[0];
    for (int64_t j = 1; j < n; ++j) m = s[j] > m ? s[j] : m;
    for (int64_t j = 0; j < n; ++j) s[j] = exp_approx(s[j] - m);
    float l = 0;
    for (int64_t j = 0; j < n; ++j) l += s[j];
    weighted_rows<HS>(y + i * yrow, s, h.v, h.row, n, hs, 1.0f / l);
    lse[i] = m + std::log(l);
  }
}

// The gradients of one head: with P the softmax weights (rebuilt from lse), dP = dO V^T,
// dS = P (dP - rowsum(dO o O)), dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO. dq/dk/dv rows
// are `h.row` floats apart, like the input's. Scratch: kt, vt, dkt, dvt (hs * T each), s, dp (T).
template <int HS>
inline __attribute__((always_inline)) void backward_head_impl(
    const Head h, int64_t T, int64_t hs_dyn, float scale, const float* __restrict y, const float* __restrict dy,
    int64_t yrow, const float* __restrict lse, float* __restrict dq, float* __restrict dk, float* __restrict dv,
    float* __restrict kt, float* __restrict vt, float* __restrict dkt, float* __restrict dvt, float* __restrict s,
    float* __restrict dp) {
  const int64_t hs = HS > 0 ? HS : hs_dyn;
  transpose_into(kt, h.k, h.row, T, hs);
  transpose_into(vt, h.v, h.row, T, hs);
  std::fill(dkt, dkt + hs * T, 0.0f);
  std::fill(dvt, dvt + hs * T, 0.0f);
  for (int64_t i = 0; i < T; ++i) {
    const int64_t n = i + 1;
    const float* q = h.q + i * h.row;
    const float* o = y + i * yrow;
    const float* g = dy + i * yrow;
    std::fill(s, s + n, 0.0f);
    for (int64_t d = 0; d < hs; ++d) axpy(s, kt + d * T, q[d] * scale, n);
    const float li = lse[i];
    for (int64_t j = 0; j < n; ++j) s[j] = exp_approx(s[j] - li);  // P row i
    float Di = 0;
    for (int64_t d = 0; d < hs; ++d) Di += g[d] * o[d];
    std::fill(dp, dp + n, 0.0f);
    for (int64_t d = 0; d < hs; ++d) axpy(dp, vt + d * T, g[d], n);
    for (int64_t j = 0; j < n; ++j) dp[j] = s[j] * (dp[j] - Di);  // dS row i
    weighted_rows<HS>(dq + i * h.row, dp, h.k, h.row, n, hs, scale);
    for (int64_t d = 0; d < hs; ++d) axpy(dkt + d * T, dp, q[d] * scale, n);
    for (int64_t d = 0; d < hs; ++d) axpy(dvt + d * T, s, g[d], n);
  }
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < hs; ++d) {
      dk[j * h.row + d] = dkt[d * T + j];
      dv[j * h.row + d] = dvt[d * T + j];
    }
}

// The head sizes compiled with their sums in registers (the presets' 16, 32 and 64, and 8);
// any other runs the general loop.
#define SOUPLAB_BY_HEAD_SIZE(hs, call) \
  switch (hs) {                        \
    case 8: call(8); break;            \
    case 16: call(16); break;          \
    case 32: call(32); break;          \
    case 64: call(64); break;          \
    default: call(0); break;           \
  }

SOUPLAB_SIMD_CLONES void forward_head(const Head h, int64_t T, int64_t hs, float scale, float* __restrict y,
                                      int64_t yrow, float* __restrict lse, float* __restrict kt, float* __restrict s) {
#define SOUPLAB_FORWARD(N) forward_head_impl<N>(h, T, hs, scale, y, yrow, lse, kt, s)
  SOUPLAB_BY_HEAD_SIZE(hs, SOUPLAB_FORWARD)
#undef SOUPLAB_FORWARD
}

SOUPLAB_SIMD_CLONES void backward_head(const Head h, int64_t T, int64_t hs, float scale, const float* __restrict y,
                                       const float* __restrict dy, int64_t yrow, const float* __restrict lse,
                                       float* __restrict dq, float* __restrict dk, float* __restrict dv,
                                       float* __restrict kt, float* __restrict vt, float* __restrict dkt,
                                       float* __restrict dvt, float* __restrict s, float* __restrict dp) {
#define SOUPLAB_BACKWARD(N) backward_head_impl<N>(h, T, hs, scale, y, dy, yrow, lse, dq, dk, dv, kt, vt, dkt, dvt, s, dp)
  SOUPLAB_BY_HEAD_SIZE(hs, SOUPLAB_BACKWARD)
#undef SOUPLAB_BACKWARD
}
#undef SOUPLAB_BY_HEAD_SIZE

// ---- the same arithmetic in blocks of query rows, through cpu_sgemm (oneDNN) ----------------
// Where the build has a fast GEMM, a block of rows' scores S = Q K^T, the output P V and the
// backward's four products are GEMMs (each over the keys the block's last row sees), and only
// the softmax and its derivative are loops. Scratch: two (kQueryBlock x T) score buffers.
constexpr int64_t kQueryBlock = 128;

// Softmax of rows r0..r1 of the block's scores in place (weights of keys after a row's own
// position set to 0), and each row's log-sum-exp. `sc` holds the scores unscaled.
SOUPLAB_SIMD_CLONES void softmax_rows(float* __restrict sc, int64_t ld, int64_t r0, int64_t r1, int64_t n_keys,
                                      float* __restrict lse) {
  for (int64_t i = r0; i < r1; ++i) {
    float* s = sc + (i - r0) * ld;
    const int64_t n = i + 1;
    float m = s[0];
    for (int64_t j = 1; j < n; ++j) m = s[j] > m ? s[j] : m;
    for (int64_t j = 0; j < n; ++j) s[j] = exp_approx(s[j] - m);
    float l = 0;
    for (int64_t j = 0; j < n; ++j) l += s[j];
    const float inv = 1.0f / l;
    for (int64_t j = 0; j < n; ++j) s[j] *= inv;
    std::fill(s + n, s + n_keys, 0.0f);
    lse[i] = m + std::log(l);
  }
}

void forward_head_gemm(const Head h, int64_t T, int64_t hs, float scale, float* y, int64_t yrow, float* lse,
                       float* sc) {
  for (int64_t r0 = 0; r0 < T; r0 += kQueryBlock) {
    const int64_t r1 = std::min(T, r0 + kQueryBlock), rows = r1 - r0, n_keys = r1;
    cpu_sgemm('N', 'T', rows, n_keys, hs, scale, h.q + r0 * h.row, h.row, h.k, h.row, 0.0f, sc, T);
    softmax_rows(sc, T, r0, r1, n_keys, lse);
    cpu_sgemm('N', 'N', rows, hs, n_keys, 1.0f, sc, T, h.v, h.row, 0.0f, y + r0 * yrow, yrow);
  }
}

// P = exp(S - lse) and dS = P (dP - D) in place for rows r0..r1 (0 after a row's position).
SOUPLAB_SIMD_CLONES void softmax_grad_rows(float* __restrict p, float* __restrict dp, int64_t ld, int64_t r0,
                                           int64_t r1, int64_t n_keys, const float* __restrict lse,
                                           const float* __restrict y, const float* __restrict dy, int64_t yrow,
                                           int64_t hs) {
  for (int64_t i = r0; i < r1; ++i) {
    float* pi = p + (i - r0) * ld;
    float* gi = dp + (i - r0) * ld;
    const int64_t n = i + 1;
    const float li = lse[i];
    float Di = 0;
    for (int64_t d = 0; d < hs; ++d) Di += dy[i * yrow + d] * y[i * yrow + d];
    for (int64_t j = 0; j < n; ++j) {
      pi[j] = exp_approx(pi[j] - li);
      gi[j] = pi[j] * (gi[j] - Di);
    }
    std::fill(pi + n, pi + n_keys, 0.0f);
    std::fill(gi + n, gi + n_keys, 0.0f);
  }
}

void backward_head_gemm(const Head h, int64_t T, int64_t hs, float scale, const float* y, const float* dy,
                        int64_t yrow, const float* lse, float* dq, float* dk, float* dv, float* p, float* dp) {
  for (int64_t j = 0; j < T; ++j) {
    std::fill(dk + j * h.row, dk + j * h.row + hs, 0.0f);
    std::fill(dv + j * h.row, dv + j * h.row + hs, 0.0f);
  }
  for (int64_t r0 = 0; r0 < T; r0 += kQueryBlock) {
    const int64_t r1 = std::min(T, r0 + kQueryBlock), rows = r1 - r0, n_keys = r1;
    const float* q = h.q + r0 * h.row;
    const float* g = dy + r0 * yrow;
    cpu_sgemm('N', 'T', rows, n_keys, hs, scale, q, h.row, h.k, h.row, 0.0f, p, T);   // S
    cpu_sgemm('N', 'T', rows, n_keys, hs, 1.0f, g, yrow, h.v, h.row, 0.0f, dp, T);    // dP = dO V^T
    softmax_grad_rows(p, dp, T, r0, r1, n_keys, lse, y, dy, yrow, hs);                // P, dS
    cpu_sgemm('N', 'N', rows, hs, n_keys, scale, dp, T, h.k, h.row, 0.0f, dq + r0 * h.row, h.row);  // dQ
    cpu_sgemm('T', 'N', n_keys, hs, rows, scale, dp, T, q, h.row, 1.0f, dk, h.row);  // dK += dS^T Q
    cpu_sgemm('T', 'N', n_keys, hs, rows, 1.0f, p, T, g, yrow, 1.0f, dv, h.row);     // dV += P^T dO
  }
}

struct Shape {
  int64_t B, T, nh, hs;
  int64_t row() const { return 3 * nh * hs; }
  float scale() const { return 1.0f / std::sqrt(float(hs)); }
  // Head (b, h) of a (B, T, 3, nh, hs) buffer.
  Head head(const float* qkv, int64_t b, int64_t h) const {
    const float* base = qkv + b * T * row() + h * hs;
    return {base, base + nh * hs, base + 2 * nh * hs, row()};
  }
};

Shape shape_of(const torch::Tensor& qkv) {
  TORCH_CHECK(qkv.dim() == 5 && qkv.size(2) == 3, "fused_causal_attention: qkv must be (B, T, 3, nh, hs), got ",
              qkv.sizes());
  return {qkv.size(0), qkv.size(1), qkv.size(3), qkv.size(4)};
}

class FusedCausalAttention : public torch::autograd::Function<FusedCausalAttention> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input) {
    const torch::Tensor qkv = input.contiguous();
    const Shape sh = shape_of(qkv);
    auto y = torch::empty({sh.B, sh.T, sh.nh, sh.hs}, qkv.options());
    auto lse = torch::empty({sh.B, sh.nh, sh.T}, qkv.options());
    const float* in = qkv.data_ptr<float>();
    float* out = y.data_ptr<float>();
    float* lse_p = lse.data_ptr<float>();
    const bool gemm = cpu_sgemm_enabled();
    at::parallel_for(0, sh.B * sh.nh, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> kt(size_t(sh.hs * sh.T)), s(size_t(sh.T)), sc;
      if (gemm) sc.resize(size_t(std::min(sh.T, kQueryBlock) * sh.T));
      for (int64_t u = begin; u < end; ++u) {
        const int64_t b = u / sh.nh, h = u % sh.nh;
        float* yu = out + b * sh.T * sh.nh * sh.hs + h * sh.hs;
        if (gemm)
          forward_head_gemm(sh.head(in, b, h), sh.T, sh.hs, sh.scale(), yu, sh.nh * sh.hs, lse_p + u * sh.T, sc.data());
        else
          forward_head(sh.head(in, b, h), sh.T, sh.hs, sh.scale(), yu, sh.nh * sh.hs, lse_p + u * sh.T, kt.data(),
                       s.data());
      }
    });
    ctx->save_for_backward({qkv, y, lse});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& qkv = saved[0];
    const torch::Tensor& y = saved[1];
    const torch::Tensor& lse = saved[2];
    const torch::Tensor dy = grads[0].contiguous();
    const Shape sh = shape_of(qkv);
    auto dqkv = torch::empty_like(qkv);
    const float* in = qkv.data_ptr<float>();
    const float* y_p = y.data_ptr<float>();
    const float* dy_p = dy.data_ptr<float>();
    const float* lse_p = lse.data_ptr<float>();
    float* d = dqkv.data_ptr<float>();
    const bool gemm = cpu_sgemm_enabled();
    at::parallel_for(0, sh.B * sh.nh, 1, [&](int64_t begin, int64_t end) {
      const size_t plane = size_t(sh.hs * sh.T), block = size_t(std::min(sh.T, kQueryBlock) * sh.T);
      std::vector<float> scratch(gemm ? 2 * block : 4 * plane + 2 * size_t(sh.T));
      float* kt = scratch.data();
      for (int64_t u = begin; u < end; ++u) {
        const int64_t b = u / sh.nh, h = u % sh.nh;
        const Head out = sh.head(d, b, h);
        float* dq = const_cast<float*>(out.q);
        float* dk = const_cast<float*>(out.k);
        float* dv = const_cast<float*>(out.v);
        const int64_t yoff = b * sh.T * sh.nh * sh.hs + h * sh.hs;
        if (gemm)
          backward_head_gemm(sh.head(in, b, h), sh.T, sh.hs, sh.scale(), y_p + yoff, dy_p + yoff, sh.nh * sh.hs,
                             lse_p + u * sh.T, dq, dk, dv, kt, kt + block);
        else
          backward_head(sh.head(in, b, h), sh.T, sh.hs, sh.scale(), y_p + yoff, dy_p + yoff, sh.nh * sh.hs,
                        lse_p + u * sh.T, dq, dk, dv, kt, kt + plane, kt + 2 * plane, kt + 3 * plane,
                        kt + 4 * plane, kt + 4 * plane + sh.T);
      }
    });
    return {dqkv};
  }
};

}  // namespace

bool fused_causal_attention_applies(const torch::Tensor& qkv) {
  return qkv.device().is_cpu() && qkv.scalar_type() == torch::kFloat32 && qkv.dim() == 5;
}

torch::Tensor fused_causal_attention(const torch::Tensor& qkv) {
  TORCH_CHECK(fused_causal_attention_applies(qkv), "fused_causal_attention: needs a float32 CPU tensor");
  return FusedCausalAttention::apply(qkv);
}

}  // namespace souplab
