// load_specialist_safetensors: export folders and transformers GPT-2 folders back in
// (specialist_import.h). Torch- and ONNX-free, so the fuzz targets link it.
#include "engine/export/specialist_import.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "souplab/atomic_file.h"
#include "souplab/error.h"
#include "engine/export/model_card.h"

namespace souplab {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// IEEE 754 half precision to float: exact (every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float v = std::ldexp(float(mantissa), -24);
    return sign ? -v : v;
  }
  const uint32_t bits = exponent == 0x1F ? sign | 0x7F800000u | (mantissa << 13)  // inf, NaN
                                         : sign | ((exponent + 112) << 23) | (mantissa << 13);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// A tensor's values as float32: F32 as they are, F16 and BF16 widened exactly.
void to_float32(const SafetensorsFile& st, const SafetensorsEntry& t, float* out) {
  const uint8_t* p = st.data(t);
  const size_t n = size_t(t.numel);
  switch (t.dtype) {
    case DType::kF32: std::memcpy(out, p, n * sizeof(float)); return;
    case DType::kF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);  // memcpy: the file's offsets need not be aligned
        out[i] = half_to_float(h);
      }
      return;
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        const uint32_t bits = uint32_t(h) << 16;  // bfloat16 is float32's upper half
        std::memcpy(out + i, &bits, sizeof(float));
      }
      return;
    default:
      throw file_error(st.source(), "tensor \"" + t.name + "\" is " + dtype_name(t.dtype) + ", expected F32, F16 or BF16");
  }
}

// "h.N.attn.bias" (the causal mask) and "h.N.attn.masked_bias": buffers, not parameters, that
// older transformers releases saved with GPT-2 models (newer ones mark them non-persistent).
bool is_attention_buffer(const std::string& name, const std::string& prefix, int n_layer) {
  for (int l = 0; l < n_layer; ++l) {
    const std::string base = prefix + "h." + std::to_string(l) + ".attn.";
    if (name == base + "bias" || name == base + "masked_bias") return true;
  }
  return false;
}

}  // namespace

LoadedSpecialist load_specialist_safetensors(const std::string& dir_or_file) {
  std::error_code ec;
  const fs::path in(dir_or_file);
  const bool is_dir = fs::is_directory(in, ec);
  const fs::path file = is_dir ? in / "model.safetensors" : in;
  const fs::path config_path = (is_dir ? in : file.parent_path()) / "config.json";
  if (is_dir && !fs::exists(file, ec)) {
    // What transformers writes instead, named, rather than a bare "no such file".
    if (fs::exists(in / "model.safetensors.index.json", ec))
      throw file_error(in.string(), "holds a sharded checkpoint (model.safetensors.index.json), which is not read: "
                                    "save it as one file (save_pretrained(..., max_shard_size=\"50GB\"))");
    if (fs::exists(in / "pytorch_model.bin", ec))
      throw file_error(in.string(), "holds pytorch_model.bin, which is not read: save it as safetensors "
                                    "(save_pretrained(..., safe_serialization=True))");
  }
  LoadedSpecialist out;
  out.source = file.string();
  const SafetensorsFile st = read_safetensors(out.source);
  out.metadata = st.metadata();
  out.verified = st.integrity() == Integrity::kVerified;
  // transformers' GPT2LMHeadModel names the body's tensors "transformer.<GPT-2 name>".
  const std::string prefix = !st.find("wte.weight") && st.find("transformer.wte.weight") ? "transformer." : "";

  if (fs::exists(config_path, ec)) {
    out.config = parse_gpt2_config_json(read_file(config_path.string()), config_path.string());
  } else {
    // No config.json: sizes from the shapes; n_head is invisible in them, so the metadata says it.
    const auto& wte = st.at(prefix + "wte.weight");
    const auto& wpe = st.at(prefix + "wpe.weight");
    if (wte.shape.size() != 2 || wpe.shape.size() != 2)
      throw file_error(out.source, "wte.weight and wpe.weight must be matrices");
    auto it = out.metadata.find("n_head");
    if (it == out.metadata.end())
      throw file_error(out.source, "no config.json beside it and no n_head in its metadata: cannot tell the head count");
    int n_layer = 0;
    while (st.find(prefix + "h." + std::to_string(n_layer) + ".ln_1.weight")) ++n_layer;
    out.config.vocab_size = int(wte.shape[0]);
    out.config.n_embd = int(wte.shape[1]);
    out.config.block_size = int(wpe.shape[0]);
    out.config.n_layer = n_layer;
    try {
      out.config.n_head = std::stoi(it->second);
      validate(out.config);
    } catch (const std::exception& e) {
      throw file_error(out.source, std::string("inconsistent model sizes: ") + e.what());
    }
  }

  const ParamLayout layout = gpt_param_layout(out.config);
  out.theta.assign(size_t(layout.total), 0.0f);
  for (const auto& e : layout.entries) {
    const std::string name = prefix + e.name;
    const SafetensorsEntry* t = st.find(name);
    if (!t) throw file_error(out.source, "missing tensor \"" + name + "\" (expected shape " + shape_text(e.shape) + ")");
    if (t->shape != e.shape)
      throw file_error(out.source, "tensor \"" + name + "\" has shape " + shape_text(t->shape) + ", the config needs " +
                                       shape_text(e.shape));
    to_float32(st, *t, out.theta.data() + e.offset);
  }
  // Beyond the layout: a tied lm_head.weight and old attention buffers, nothing else.
  for (const auto& t : st.tensors()) {
    bool known = false;
    for (const auto& e : layout.entries) known = known || prefix + e.name == t.name;
    if (known || is_attention_buffer(t.name, prefix, out.config.n_layer)) continue;
    if (t.name == "lm_head.weight") {
      const auto& wte = layout.at("wte.weight");
      if (t.shape != wte.shape)
        throw file_error(out.source, "tensor \"lm_head.weight\" has shape " + shape_text(t.shape) + ", " + prefix +
                                         "wte.weight's is " + shape_text(wte.shape));
      std::vector<float> head(size_t(t.numel));
      to_float32(st, t, head.data());
      if (std::memcmp(head.data(), out.theta.data() + wte.offset, head.size() * sizeof(float)) != 0)
        throw file_error(out.source, "tensor \"lm_head.weight\" differs from " + prefix +
                                         "wte.weight: untied output embeddings are not supported");
      continue;
    }
    throw file_error(out.source, "unexpected tensor \"" + t.name + "\" (shape " + shape_text(t.shape) +
                                     ") for this model config");
  }
  return out;
}

}  // namespace souplab
