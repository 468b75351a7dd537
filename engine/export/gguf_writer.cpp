#include "engine/export/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/export/byte_tokenizer.h"
#include "souplab/atomic_file.h"
#include "souplab/error.h"

namespace souplab {
namespace {

// GGUF v3 (ggml's gguf.h): little-endian; strings are a u64 length and the bytes; data starts at
// the first multiple of the alignment after the tensor infos, and each tensor's offset (from the
// data start) is a multiple of it too.
constexpr uint32_t kGgufVersion = 3;
constexpr size_t kAlignment = 32;
enum ValueType : uint32_t { kU32 = 4, kI32 = 5, kF32Value = 6, kBool = 7, kString = 8, kArray = 9 };
enum GgmlType : uint32_t { kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ8_0 = 8 };
constexpr int kQ8Block = 32;  // values per q8_0 block: an fp16 scale and 32 int8

class Bytes {
 public:
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  template <typename T>
  void put(T v) { raw(&v, sizeof v); }  // x86 and ARM hosts: already little-endian
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    raw(s.data(), s.size());
  }
  void pad_to(size_t alignment) { out_.append((alignment - out_.size() % alignment) % alignment, '\0'); }
  size_t size() const { return out_.size(); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// The key-value section, counted as it is written.
class KeyValues {
 public:
  void u32(const std::string& key, uint32_t v) { head(key, kU32).put(v); }
  void f32(const std::string& key, float v) { head(key, kF32Value).put(v); }
  void boolean(const std::string& key, bool v) { head(key, kBool).put<uint8_t>(v ? 1 : 0); }
  void string(const std::string& key, const std::string& v) { head(key, kString).str(v); }
  void strings(const std::string& key, const std::vector<std::string>& v) {
    head(key, kArray).put<uint32_t>(kString);
    b_.put<uint64_t>(v.size());
    for (const auto& s : v) b_.str(s);
  }
  void i32s(const std::string& key, const std::vector<int32_t>& v) {
    head(key, kArray).put<uint32_t>(kI32);
    b_.put<uint64_t>(v.size());
    for (int32_t x : v) b_.put(x);
  }
  uint64_t count() const { return count_; }
  Bytes& bytes() { return b_; }

 private:
  Bytes& head(const std::string& key, uint32_t type) {
    ++count_;
    b_.str(key);
    b_.put(type);
    return b_;
  }
  Bytes b_;
  uint64_t count_ = 0;
};

struct OutTensor {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] is the contiguous (fastest) axis
  uint32_t type = kGgmlF32;
  std::string data;
};

// rows x cols floats, row-major, encoded as `type` (rows along ne[1], cols along ne[0]).
std::string encode_rows(const std::vector<float>& v, int64_t cols, uint32_t type) {
  std::string out;
  if (type == kGgmlF32) {
    out.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  } else if (type == kGgmlF16) {
    out.resize(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t h = float_to_half(v[i]);
      std::memcpy(&out[2 * i], &h, 2);
    }
  } else {
    // ggml's quantize_row_q8_0_ref: d = max|x| / 127 (stored as fp16), q = roundf(x / d) with
    // the float d, rounding halves away from zero; blocks run along each row.
    (void)cols;
    for (size_t b = 0; b < v.size(); b += kQ8Block) {
      float amax = 0;
      for (int j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(v[b + size_t(j)]));
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      const uint16_t dh = float_to_half(d);
      out.append(reinterpret_cast<const char*>(&dh), 2);
      for (int j = 0; j < kQ8Block; ++j) out.push_back(static_cast<char>(static_cast<int8_t>(std::roundf(v[b + size_t(j)] * id))));
    }
  }
  return out;
}

std::vector<float> slice(const ParamLayout& layout, const float* theta, const std::string& name) {
  for (const auto& e : layout.entries)
    if (e.name == name) return std::vector<float>(theta + e.offset, theta + e.offset + e.numel);
  throw Error("GGUF export: the layout has no tensor " + name);
}

// GPT-2's Conv1D weight (in x out) as llama.cpp's matrix (out rows of in).
std::vector<float> transposed(const std::vector<float>& w, int64_t in, int64_t out) {
  std::vector<float> t(w.size());
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < out; ++o) t[size_t(o * in + i)] = w[size_t(i * out + o)];
  return t;
}

void check_layout(const ModelConfig& c, const ParamLayout& layout, const float* theta) {
  if (theta == nullptr) throw Error("GGUF export: theta is null");
  const ParamLayout expected = gpt_param_layout(c);
  if (expected.total != layout.total || expected.entries.size() != layout.entries.size())
    throw Error("GGUF export: the parameter layout (" + std::to_string(layout.total) +
                " floats) does not match the model config (" + std::to_string(expected.total) + ")");
}

}  // namespace

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xffu) return uint16_t(sign | 0x7c00u | (mant ? 0x200u : 0u));  // inf, nan
  const int e = int(exp) - 127 + 15;
  if (e >= 0x1f) return uint16_t(sign | 0x7c00u);  // too large: inf
  if (e <= 0) {                                     // a half subnormal, or zero
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    const uint32_t shift = uint32_t(14 - e), halfway = 1u << (shift - 1);
    uint32_t m = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    if (rest > halfway || (rest == halfway && (m & 1u))) ++m;  // a carry makes the smallest normal
    return uint16_t(sign | m);
  }
  uint32_t h = sign | (uint32_t(e) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry rounds up the exponent (to inf at the top)
  return uint16_t(h);
}

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::kF32: return "f32";
    case GgufType::kF16: return "f16";
    case GgufType::kQ8_0: return "q8_0";
  }
  return "f16";
}

bool parse_gguf_type(const std::string& name, GgufType* out) {
  for (GgufType t : {GgufType::kF32, GgufType::kF16, GgufType::kQ8_0})
    if (name == gguf_type_name(t)) {
      *out = t;
      return true;
    }
  return false;
}

std::string encode_gpt_gguf(const ModelConfig& c, const ParamLayout& layout, const float* theta, GgufType type,
                            const std::string& name, const std::map<std::string, std::string>& metadata) {
  check_layout(c, layout, theta);
  const int64_t C = c.n_embd, V = c.vocab_size, T = c.block_size;
  if (V != 256) throw Error("GGUF export: the byte vocabulary has 256 tokens, the model " + std::to_string(V));
  if (type == GgufType::kQ8_0 && C % kQ8Block != 0)
    throw Error("GGUF export: q8_0 quantises rows in blocks of 32 values, and the width " + std::to_string(C) +
                " is not a multiple of 32; export f16 or f32");
  const uint32_t matrix_type = type == GgufType::kF32 ? kGgmlF32 : type == GgufType::kF16 ? kGgmlF16 : kGgmlQ8_0;

  std::vector<OutTensor> tensors;
  auto f32_vector = [&](const std::string& out_name, const std::string& in_name) {
    const auto v = slice(layout, theta, in_name);
    tensors.push_back({out_name, {uint64_t(v.size())}, kGgmlF32, encode_rows(v, int64_t(v.size()), kGgmlF32)});
  };
  // A matrix of `rows` rows of `cols` (ggml ne = {cols, rows}) in the file's type.
  auto matrix = [&](const std::string& out_name, const std::vector<float>& v, int64_t rows, int64_t cols, uint32_t t) {
    tensors.push_back({out_name, {uint64_t(cols), uint64_t(rows)}, t, encode_rows(v, cols, t)});
  };
  auto conv1d = [&](const std::string& out_name, const std::string& in_name, int64_t in, int64_t out) {
    matrix(out_name + ".weight", transposed(slice(layout, theta, in_name + ".weight"), in, out), out, in, matrix_type);
    f32_vector(out_name + ".bias", in_name + ".bias");
  };
  matrix("token_embd.weight", slice(layout, theta, "wte.weight"), V, C, matrix_type);
  matrix("position_embd.weight", slice(layout, theta, "wpe.weight"), T, C, kGgmlF32);
  for (int l = 0; l < c.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l), blk = "blk." + std::to_string(l);
    f32_vector(blk + ".attn_norm.weight", h + ".ln_1.weight");
    f32_vector(blk + ".attn_norm.bias", h + ".ln_1.bias");
    conv1d(blk + ".attn_qkv", h + ".attn.c_attn", C, 3 * C);
    conv1d(blk + ".attn_output", h + ".attn.c_proj", C, C);
    f32_vector(blk + ".ffn_norm.weight", h + ".ln_2.weight");
    f32_vector(blk + ".ffn_norm.bias", h + ".ln_2.bias");
    conv1d(blk + ".ffn_up", h + ".mlp.c_fc", C, 4 * C);
    conv1d(blk + ".ffn_down", h + ".mlp.c_proj", 4 * C, C);
  }
  f32_vector("output_norm.weight", "ln_f.weight");
  f32_vector("output_norm.bias", "ln_f.bias");

  KeyValues kv;
  kv.string("general.architecture", "gpt2");
  kv.string("general.name", name.empty() ? std::string("souplab specialist") : name);
  kv.u32("general.file_type", type == GgufType::kF32 ? 0 : type == GgufType::kF16 ? 1 : 7);  // llama_ftype
  if (type == GgufType::kQ8_0) kv.u32("general.quantization_version", 2);
  kv.u32("gpt2.context_length", uint32_t(T));
  kv.u32("gpt2.embedding_length", uint32_t(C));
  kv.u32("gpt2.feed_forward_length", uint32_t(4 * C));
  kv.u32("gpt2.block_count", uint32_t(c.n_layer));
  kv.u32("gpt2.attention.head_count", uint32_t(c.n_head));
  kv.f32("gpt2.attention.layer_norm_epsilon", 1e-5f);
  std::vector<std::string> tokens;
  for (int b = 0; b < 256 && b < V; ++b) tokens.push_back(byte_level_char(static_cast<unsigned char>(b)));
  kv.string("tokenizer.ggml.model", "gpt2");
  kv.string("tokenizer.ggml.pre", "qwen2");
  kv.strings("tokenizer.ggml.tokens", tokens);
  kv.i32s("tokenizer.ggml.token_type", std::vector<int32_t>(tokens.size(), 1));  // normal tokens
  kv.strings("tokenizer.ggml.merges", {});  // present and empty: every byte stays a token
  kv.u32("tokenizer.ggml.bos_token_id", 0);
  kv.u32("tokenizer.ggml.eos_token_id", 0);
  kv.boolean("tokenizer.ggml.add_bos_token", false);
  kv.boolean("tokenizer.ggml.add_eos_token", false);
  for (const auto& [key, value] : metadata) kv.string("souplab." + key, value);

  Bytes out;
  out.raw("GGUF", 4);
  out.put<uint32_t>(kGgufVersion);
  out.put<uint64_t>(tensors.size());
  out.put<uint64_t>(kv.count());
  std::string kv_bytes = kv.bytes().take();
  out.raw(kv_bytes.data(), kv_bytes.size());
  uint64_t offset = 0;
  for (const OutTensor& t : tensors) {
    out.str(t.name);
    out.put<uint32_t>(uint32_t(t.ne.size()));
    for (uint64_t n : t.ne) out.put<uint64_t>(n);
    out.put<uint32_t>(t.type);
    out.put<uint64_t>(offset);
    offset += (t.data.size() + kAlignment - 1) / kAlignment * kAlignment;
  }
  out.pad_to(kAlignment);
  for (const OutTensor& t : tensors) {
    out.raw(t.data.data(), t.data.size());
    out.pad_to(kAlignment);  // the data section starts aligned, so this aligns each offset
  }
  return out.take();
}

void write_gpt_gguf(const std::string& path, const ModelConfig& config, const ParamLayout& layout, const float* theta,
                    GgufType type, const std::string& name, const std::map<std::string, std::string>& metadata) {
  std::string bytes;
  try {
    bytes = encode_gpt_gguf(config, layout, theta, type, name, metadata);
  } catch (const Error& e) {
    throw file_error(path, e.what());
  }
  write_file_atomically(path, bytes);
}

}  // namespace souplab
