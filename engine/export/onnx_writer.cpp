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

void set_io(onnx::ValueInfoProto* v, const std::string& name, int elem_type,
            const std::vector<std::string>& dims, int64_t last_dim) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) shape->add_dim()->set_dim_param(d);
  if (last_dim > 0) shape->add_dim()->set_dim_value(last_dim);
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
  set_io(g->add_input(), "input_ids", TensorProto::INT64, {"batch", "sequence"}, 0);
  set_io(g->add_output(), "logits", TensorProto::FLOAT, {"batch", "sequence"}, V);
  GraphBuilder b(g);

  for (const auto& e : layout.entries) b.init_f32(e.name, e.shape, theta + e.offset);
  const std::string axis_0 = b.init_i64("const/axis_0", {0});
  const std::string axis_1 = b.init_i64("const/axis_1", {1});
  const std::string heads_shape = b.init_i64("const/heads_shape", {0, 0, nh, hs});  // 0 = keep dim
  const std::string merge_shape = b.init_i64("const/merge_shape", {0, 0, C});
  const std::string scale = b.scalar_f32("const/sqrt_head_size", float(std::sqrt(double(hs))));
  const std::string neg_inf = b.scalar_f32("const/neg_inf", -std::numeric_limits<float>::infinity());
  const std::string half = b.scalar_f32("const/half", 0.5f);
  const std::string one = b.scalar_f32("const/one", 1.0f);
  const std::string gelu_k = b.scalar_f32("const/gelu_coef", 0.044715f);
  const std::string gelu_s = b.scalar_f32("const/sqrt_2_over_pi", float(std::sqrt(2.0 / std::acos(-1.0))));
  const std::string zero = b.scalar_i64("const/zero", 0);
  const std::string one_i = b.scalar_i64("const/one_i64", 1);

  // Positions 0..T'-1 of the dynamic sequence length T'; the causal mask (T', T') is built from
  // them at run time, so the file holds no block_size^2 mask.
  const std::string shape = b.op("Shape", {"input_ids"}, "seq");
  const std::string t_len = b.op("Gather", {shape, one_i}, "seq");  // scalar T'
  b.attr_int("axis", 0);
  const std::string pos = b.op("Range", {zero, t_len, one_i}, "seq");  // (T',)
  const std::string rows = b.op("Unsqueeze", {pos, axis_1}, "mask");  // (T', 1)
  const std::string cols = b.op("Unsqueeze", {pos, axis_0}, "mask");  // (1, T')
  const std::string mask = b.op("LessOrEqual", {cols, rows}, "mask");  // (T', T'): key j <= query i

  // x = wte[ids] + wpe[pos]
  const std::string tok = b.op("Gather", {"wte.weight", "input_ids"}, "embed");  // (B, T', C)
  b.attr_int("axis", 0);
  const std::string pos_emb = b.op("Gather", {"wpe.weight", pos}, "embed");  // (T', C)
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
    const std::string h = "h." + std::to_string(i);
    const std::string attn = h + ".attn";
    const std::string a = layer_norm(x, h + ".ln_1");
    const std::string qkv = linear(a, attn + ".c_attn");  // (B, T', 3C)
    const auto parts = b.op_n("Split", {qkv}, attn, 3);    // equal thirds, each (B, T', C)
    b.attr_int("axis", -1);
    const std::string q = transpose(b.op("Reshape", {parts[0], heads_shape}, attn), {0, 2, 1, 3}, attn);
    const std::string kt = transpose(b.op("Reshape", {parts[1], heads_shape}, attn), {0, 2, 3, 1}, attn);
    const std::string v = transpose(b.op("Reshape", {parts[2], heads_shape}, attn), {0, 2, 1, 3}, attn);
    // att = softmax(masked_fill((q @ k^T) / sqrt(hs), above diagonal, -inf))   (B, nh, T', T')
    std::string att = b.op("Div", {b.op("MatMul", {q, kt}, attn), scale}, attn);
    att = b.op("Where", {mask, att, neg_inf}, attn);
    att = b.op("Softmax", {att}, attn);
    b.attr_int("axis", -1);
    std::string y = b.op("MatMul", {att, v}, attn);  // (B, nh, T', hs)
    y = b.op("Reshape", {transpose(y, {0, 2, 1, 3}, attn), merge_shape}, attn);  // (B, T', C)
    x = b.op("Add", {x, linear(y, attn + ".c_proj")}, h);

    const std::string mlp = h + ".mlp";
    const std::string u = linear(layer_norm(x, h + ".ln_2"), mlp + ".c_fc");  // (B, T', 4C)
    // gelu_tanh(u) = 0.5 * u * (1 + tanh(sqrt(2/pi) * (u + 0.044715 * u^3)))
    const std::string u3 = b.op("Mul", {b.op("Mul", {u, u}, mlp), u}, mlp);
    const std::string inner = b.op("Add", {u, b.op("Mul", {gelu_k, u3}, mlp)}, mlp);
    const std::string th = b.op("Tanh", {b.op("Mul", {gelu_s, inner}, mlp)}, mlp);
    const std::string gelu = b.op("Mul", {b.op("Mul", {half, u}, mlp), b.op("Add", {one, th}, mlp)}, mlp);
    x = b.op("Add", {x, linear(gelu, mlp + ".c_proj")}, h);
  }
  const std::string xf = layer_norm(x, "ln_f");
  const std::string wte_t = transpose("wte.weight", {1, 0}, "lm_head");  // tied: (C, V)
  const std::string logits = b.op("MatMul", {xf, wte_t}, "lm_head");
  // The graph output must carry the declared name.
  g->mutable_node(g->node_size() - 1)->set_output(0, "logits");
  (void)logits;

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
