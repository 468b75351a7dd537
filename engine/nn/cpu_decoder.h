#pragma once
// Token-by-token decoding of one dense float32 GPT-2 on the CPU in plain loops, for generation.
// Why not gpt_forward_cached: at batch 1 a new token is a few dozen tiny ops (matrix-vector
// products, a layer norm over C floats, attention over the cached positions), and libtorch's
// per-op dispatch, allocation and threading cost more than the arithmetic at the sizes people
// run on a CPU (perf at L4 C256: a third of the time in MKL's generic sgemv, the rest spread
// over dispatch; docs/BENCHMARKS.md). Here each token is one pass over the weights, read in
// place from theta, with the KV cache laid out for the loops that read it. Same model, same
// logits up to float rounding (tests/nn/test_soup_model.cpp checks them position by position
// against gpt_forward).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace souplab {

class CpuDecoder {
 public:
  // Whether theta can be decoded here: a contiguous float32 CPU tensor.
  static bool applies(const torch::Tensor& theta);
  // theta (P) is read in place and must outlive the decoder; `rows` sequences are decoded
  // together (every row at the same position), sharing each pass over the weights.
  // f16_weights: the weight matrices (and the output embedding) are copied once as IEEE half
  // and converted back in the loop, as a GGUF f16 model is run: half the bytes read per token,
  // logits within ~1e-3 of the float32 model's; vectors and activations stay float32.
  CpuDecoder(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout, int rows,
             bool f16_weights = false);

  // Appends one token per row (tokens[r], 0..255) at position length() and returns the logits
  // of the next token, (rows, vocab) row-major, valid until the next call. length() must be
  // below block_size.
  const float* step(const int64_t* tokens);
  int64_t length() const { return length_; }
  void reset() { length_ = 0; }  // forgets the cached positions (the buffers stay)
  int rows() const { return rows_; }
  int vocab() const { return V_; }

 private:
  // A weight matrix (in, out), row-major: float32 in place in theta, or its half copy.
  struct Matrix {
    const float* f32 = nullptr;
    const uint16_t* f16 = nullptr;
  };
  struct Block {
    const float *ln_1_w, *ln_1_b;
    Matrix attn_w;
    const float* attn_b;
    Matrix proj_w;
    const float *proj_b, *ln_2_w, *ln_2_b;
    Matrix fc_w;
    const float* fc_b;
    Matrix mlp_proj_w;
    const float* mlp_proj_b;
  };
  Matrix matrix(const float* w, int64_t numel);  // as stored by this decoder
  void attend(int layer);  // qkv_ -> y_, writing this position's keys and values to the cache

  int rows_, C_, H_, hs_, F_, V_, T_;
  const float *wte_, *wpe_, *ln_f_w_, *ln_f_b_;
  std::vector<Block> blocks_;
  bool f16_;
  std::vector<torch::Tensor> halves_;  // the f16 copies Matrix::f16 points into
  std::vector<float> wte_t_;  // (C, V): the tied output embedding, transposed once for the matvec
  Matrix head_;               // wte_t_ as stored
  // Per layer: keys transposed, (rows, H, hs, T), so a query's scores are one axpy per dimension
  // over the positions; values (rows, T, C).
  std::vector<std::vector<float>> keys_t_, values_;
  std::vector<float> x_, a_, qkv_, y_, f_, scores_, logits_;
  int64_t length_ = 0;
};

}  // namespace souplab
