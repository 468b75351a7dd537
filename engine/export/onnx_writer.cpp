#include "engine/export/onnx_writer.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "souplab/atomic_file.h"
#include "souplab/error.h"

#ifndef SOUPLAB_VERSION
#define SOUPLAB_VERSION "unknown"
#endif

namespace souplab {

namespace {

using onnx::TensorProto;

// Builds the graph node by node; every intermediate gets a fresh, readable name.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* g) : g_(g) {}

  // One node with one output; returns the output name.
  std::string op(const std::string& type, const std::vector<std::string>& inputs,
                 const std::string& hint) {
    return op_n(type, inputs, hint, 1)[0];
  }

  std::vector<std::string> op_n(const std::string& type, const std::vector<std::string>& inputs,
                                const std::string& hint, int n_outputs) {
    onnx::NodeProto* node = g_->add_node();
    node->set_op_type(type);
    node->set_name(hint + "/" + type + "_" + std::to_string(counter_));
    for (const auto& in : inputs) node->add_input(in);
    std::vector<std::string> outs;
    for (int i = 0; i < n_outputs; ++i) {
      outs.push_back(hint + "/" + type + "_" + std::to_string(counter_) + "_out" + std::to_string(i));
      node->add_output(outs.back());
    }
    ++counter_;
    last_ = node;
    return outs;
  }

  // The node made last writes its (first) output under `name` instead: a graph output.
  std::string name_last_output(const std::string& name) {
    last_->set_output(0, name);
    return name;
  }

  // Attributes apply to the node made last.
  void attr_int(const std::string& name, int64_t v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  void attr_float(const std::string& name, float v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  void attr_ints(const std::string& name, const std::vector<int64_t>& v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  std::string init_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    TensorProto* t = add_init(name, shape, TensorProto::FLOAT);
    t->set_raw_data(data, size_t(n) * sizeof(float));  // raw_data is little-endian: x86/ARM hosts
    return name;
  }
  std::string scalar_f32(const std::string& name, float v) { return init_f32(name, {}, &v); }
  std::string init_i64(const std::string& name, const std::vector<int64_t>& values) {
    TensorProto* t = add_init(name, {int64_t(values.size())}, TensorProto::INT64);
    t->set_raw_data(values.data(), values.size() * sizeof(int64_t));
    return name;
  }
  std::string scalar_i64(const std::string& name, int64_t v) {
    TensorProto* t = add_init(name, {}, TensorProto::INT64);
    t->set_raw_data(&v, sizeof v);
    return name;
  }

 private:
  TensorProto* add_init(const std::string& name, const std::vector<int64_t>& shape, int type) {
    TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : shape) t->add_dims(d);
    return t;
  }

  onnx::GraphProto* g_;
  onnx::NodeProto* last_ = nullptr;
  int counter_ = 0;
};

// dims: a name ("batch") is a dynamic axis, a number ("4") a fixed one.
void set_io(onnx::ValueInfoProto* v, const std::string& name, int elem_type, const std::vector<std::string>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos)
      shape->add_dim()->set_dim_value(std::stoll(d));
    else
      shape->add_dim()->set_dim_param(d);
  }
}

void check_layout(const ModelConfig& c, const ParamLayout& layout, const float* theta) {
  if (theta == nullptr) throw Error("ONNX export: theta is null");
  const ParamLayout expected = gpt_param_layout(c);
  if (expected.total != layout.total || expected.entries.size() != layout.entries.size())
    throw Error("ONNX export: the parameter layout (" + std::to_string(layout.total) +
                " floats) does not match the model config (" + std::to_string(expected.total) + ")");
  for (size_t i = 0; i < expected.entries.size(); ++i)
    if (expected.entries[i].name != layout.entries[i].name ||
        expected.entries[i].shape != layout.entries[i].shape)
      throw Error("ONNX export: layout tensor \"" + layout.entries[i].name + "\" does not match the config");
}

}  // namespace

std::string encode_gpt_onnx(const ModelConfig& c, const ParamLayout& layout, const float* theta,
                            const std::map<std::string, std::string>& metadata) {
  check_layout(c, layout, theta);
  const int64_t C = c.n_embd, nh = c.n_head, hs = C / nh, T = c.block_size, V = c.vocab_size;

  onnx::ModelProto model;
  model.set_ir_version(kOnnxIrVersion);
  model.set_producer_name("souplab");
  model.set_producer_version(SOUPLAB_VERSION);
  model.set_doc_string("SoupLab specialist: byte-level GPT-2 layout decoder (token id = byte value)");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  for (const auto& [k, v] : metadata) {
    auto* p = model.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }

  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("souplab_gpt");
  // The names optimum and onnxruntime-genai use for a decoder with a KV cache. A first call
  // passes past key/values with 0 positions; every later one the previous call's present ones.
  const std::string nh_s = std::to_string(nh), hs_s = std::to_string(hs);
  set_io(g->add_input(), "input_ids", TensorProto::INT64, {"batch", "sequence"});
  set_io(g->add_input(), "attention_mask", TensorProto::INT64, {"batch", "past_sequence + sequence"});
  set_io(g->add_input(), "position_ids", TensorProto::INT64, {"batch", "sequence"});
  for (int i = 0; i < c.n_layer; ++i)
    for (const char* kv : {"key", "value"})
      set_io(g->add_input(), "past_key_values." + std::to_string(i) + "." + kv, TensorProto::FLOAT,
             {"batch", nh_s, "past_sequence", hs_s});
  set_io(g->add_output(), "logits", TensorProto::FLOAT, {"batch", "sequence", std::to_string(V)});
  for (int i = 0; i < c.n_layer; ++i)
    for (const char* kv : {"key", "value"})
      set_io(g->add_output(), "present." + std::to_string(i) + "." + kv, TensorProto::FLOAT,
             {"batch", nh_s, "past_sequence + sequence", hs_s});
  GraphBuilder b(g);
  (void)T;  // positions come from position_ids; the caller keeps past + sequence <= block_size

  for (const auto& e : layout.entries) b.init_f32(e.name, e.shape, theta + e.offset);
  const std::string axis_0 = b.init_i64("const/axis_0", {0});
  const std::string axis_1 = b.init_i64("const/axis_1", {1});
  const std::string axes_1_2 = b.init_i64("const/axes_1_2", {1, 2});
  const std::string heads_shape = b.init_i64("const/heads_shape", {0, 0, nh, hs});  // 0 = keep dim
  const std::string merge_shape = b.init_i64("const/merge_shape", {0, 0, C});
  const std::string scale = b.scalar_f32("const/sqrt_head_size", float(std::sqrt(double(hs))));
  // Masked scores: the lowest float rather than -inf, so that a row with every key masked (a
  // left pad's own position) is a finite uniform average instead of NaNs that the cache would
  // carry into later steps (0 x NaN is NaN); a row with any key left gives exactly 0 to the masked.
  const std::string masked = b.scalar_f32("const/masked_score", std::numeric_limits<float>::lowest());
  const std::string half = b.scalar_f32("const/half", 0.5f);
  const std::string one = b.scalar_f32("const/one", 1.0f);
  const std::string gelu_k = b.scalar_f32("const/gelu_coef", 0.044715f);
  const std::string gelu_s = b.scalar_f32("const/sqrt_2_over_pi", float(std::sqrt(2.0 / std::acos(-1.0))));
  const std::string zero = b.scalar_i64("const/zero", 0);
  const std::string one_i = b.scalar_i64("const/one_i64", 1);
  const std::string two_i = b.scalar_i64("const/two_i64", 2);

  // The mask (batch, 1, S, P + S), built at run time: query i (at position P + i) sees key j when
  // j <= P + i (causal) and attention_mask[b, j] is 1 (not padding).
  const std::string s_len = b.op("Gather", {b.op("Shape", {"input_ids"}, "mask"), one_i}, "mask");  // S
  b.attr_int("axis", 0);
  const std::string p_len = b.op("Gather", {b.op("Shape", {"past_key_values.0.key"}, "mask"), two_i}, "mask");  // P
  b.attr_int("axis", 0);
  const std::string total = b.op("Add", {p_len, s_len}, "mask");
  const std::string rows = b.op("Unsqueeze", {b.op("Range", {p_len, total, one_i}, "mask"), axis_1}, "mask");  // (S, 1)
  const std::string cols = b.op("Unsqueeze", {b.op("Range", {zero, total, one_i}, "mask"), axis_0}, "mask");  // (1, P+S)
  const std::string causal = b.op("LessOrEqual", {cols, rows}, "mask");  // (S, P+S)
  const std::string keep = b.op("Cast", {"attention_mask"}, "mask");
  b.attr_int("to", TensorProto::BOOL);
  const std::string mask = b.op("And", {causal, b.op("Unsqueeze", {keep, axes_1_2}, "mask")}, "mask");  // (B, 1, S, P+S)

  // x = wte[ids] + wpe[position_ids]
  const std::string tok = b.op("Gather", {"wte.weight", "input_ids"}, "embed");  // (B, S, C)
  b.attr_int("axis", 0);
  const std::string pos_emb = b.op("Gather", {"wpe.weight", "position_ids"}, "embed");  // (B, S, C)
  b.attr_int("axis", 0);
  std::string x = b.op("Add", {tok, pos_emb}, "embed");

  auto layer_norm = [&](const std::string& in, const std::string& prefix) {
    const std::string out = b.op("LayerNormalization", {in, prefix + ".weight", prefix + ".bias"}, prefix);
    b.attr_int("axis", -1);
    b.attr_float("epsilon", 1e-5f);
    return out;
  };
  auto linear = [&](const std::string& in, const std::string& prefix) {  // Conv1D: x @ W + b
    return b.op("Add", {b.op("MatMul", {in, prefix + ".weight"}, prefix), prefix + ".bias"}, prefix);
  };
  auto transpose = [&](const std::string& in, const std::vector<int64_t>& perm, const std::string& hint) {
    const std::string out = b.op("Transpose", {in}, hint);
    b.attr_ints("perm", perm);
    return out;
  };

  for (int i = 0; i < c.n_layer; ++i) {
    const std::string h = "h." + std::to_string(i), layer = std::to_string(i);
    const std::string attn = h + ".attn";
    const std::string a = layer_norm(x, h + ".ln_1");
    const std::string qkv = linear(a, attn + ".c_attn");  // (B, S, 3C)
    const auto parts = b.op_n("Split", {qkv}, attn, 3);   // equal thirds, each (B, S, C)
    b.attr_int("axis", -1);
    auto heads = [&](const std::string& part) {  // (B, S, C) -> (B, nh, S, hs)
      return transpose(b.op("Reshape", {part, heads_shape}, attn), {0, 2, 1, 3}, attn);
    };
    const std::string q = heads(parts[0]);
    // The cache: past (B, nh, P, hs) followed by this call's keys and values.
    b.op("Concat", {"past_key_values." + layer + ".key", heads(parts[1])}, attn);
    b.attr_int("axis", 2);
    const std::string k = b.name_last_output("present." + layer + ".key");
    b.op("Concat", {"past_key_values." + layer + ".value", heads(parts[2])}, attn);
    b.attr_int("axis", 2);
    const std::string v = b.name_last_output("present." + layer + ".value");
    // att = softmax(masked((q @ k^T) / sqrt(hs)))   (B, nh, S, P+S)
    std::string att = b.op("Div", {b.op("MatMul", {q, transpose(k, {0, 1, 3, 2}, attn)}, attn), scale}, attn);
    att = b.op("Where", {mask, att, masked}, attn);
    att = b.op("Softmax", {att}, attn);
    b.attr_int("axis", -1);
    std::string y = b.op("MatMul", {att, v}, attn);  // (B, nh, S, hs)
    y = b.op("Reshape", {transpose(y, {0, 2, 1, 3}, attn), merge_shape}, attn);  // (B, S, C)
    x = b.op("Add", {x, linear(y, attn + ".c_proj")}, h);

    const std::string mlp = h + ".mlp";
    const std::string u = linear(layer_norm(x, h + ".ln_2"), mlp + ".c_fc");  // (B, S, 4C)
    // gelu_tanh(u) = 0.5 * u * (1 + tanh(sqrt(2/pi) * (u + 0.044715 * u^3)))
    const std::string u3 = b.op("Mul", {b.op("Mul", {u, u}, mlp), u}, mlp);
    const std::string inner = b.op("Add", {u, b.op("Mul", {gelu_k, u3}, mlp)}, mlp);
    const std::string th = b.op("Tanh", {b.op("Mul", {gelu_s, inner}, mlp)}, mlp);
    const std::string gelu = b.op("Mul", {b.op("Mul", {half, u}, mlp), b.op("Add", {one, th}, mlp)}, mlp);
    x = b.op("Add", {x, linear(gelu, mlp + ".c_proj")}, h);
  }
  const std::string xf = layer_norm(x, "ln_f");
  const std::string wte_t = transpose("wte.weight", {1, 0}, "lm_head");  // tied: (C, V)
  b.op("MatMul", {xf, wte_t}, "lm_head");
  b.name_last_output("logits");

  const size_t bytes = model.ByteSizeLong();
  if (bytes > size_t(std::numeric_limits<int>::max()))
    throw Error("ONNX export: the model (" + std::to_string(bytes) +
                " bytes) exceeds protobuf's 2 GB limit; export safetensors instead");
  std::string out;
  if (!model.SerializeToString(&out)) throw Error("ONNX export: serialising the model failed");
  return out;
}

void write_gpt_onnx(const std::string& path, const ModelConfig& config, const ParamLayout& layout,
                    const float* theta, const std::map<std::string, std::string>& metadata) {
  std::string bytes;
  try {
    bytes = encode_gpt_onnx(config, layout, theta, metadata);
  } catch (const Error& e) {
    throw file_error(path, e.what());
  }
  write_file_atomically(path, bytes);
}

}  // namespace souplab
