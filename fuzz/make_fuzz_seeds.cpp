// Writes the fuzzers' seed corpus: valid inputs of every kind, one folder per target.
//   make_fuzz_seeds OUT_DIR  ->  OUT_DIR/{safetensors,checkpoint_meta,manifest,config,gpt2_config,documents,import}/...
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/checkpoint_meta.h"
#include "souplab/config.h"
#include "souplab/param_layout.h"
#include "engine/core/safetensors.h"

using namespace souplab;

namespace {

void put(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

// A checkpoint of the smallest valid dense config: its tensors hold exactly what it needs.
std::string tiny_checkpoint(bool soup) {
  RunConfig c;
  c.model.n_layer = 1;
  c.model.n_embd = 2;
  c.model.n_head = 1;
  c.model.block_size = 2;
  c.bank.n_experts = soup ? 1 : 0;
  c.bank.coef_hidden = 1;
  c.bank.n_domains = 2;
  c.train.kind = soup ? ModelKind::kSoup : ModelKind::kDense;
  const ParamCounts pc = param_counts(c.model, c.bank, 2);
  std::vector<float> s(size_t(pc.base), 0.5f), e(size_t(pc.experts), 0.25f), co(size_t(3 * pc.coef_mlp), 1.f);
  std::vector<TensorView> t = {{"S", DType::kF32, {pc.base}, s.data()},
                               {"adam.m.S", DType::kF32, {pc.base}, s.data()},
                               {"adam.v.S", DType::kF32, {pc.base}, s.data()}};
  if (soup) {
    t.push_back({"E", DType::kF32, {1, pc.base}, e.data()});
    t.push_back({"adam.m.E", DType::kF32, {1, pc.base}, e.data()});
    t.push_back({"adam.v.E", DType::kF32, {1, pc.base}, e.data()});
    t.push_back({"coef.all", DType::kF32, {3 * pc.coef_mlp}, co.data()});
  }
  SafetensorsMetadata m;
  m["format"] = kCheckpointFormatName;
  m["format_version"] = std::to_string(kCheckpointFormatVersion);
  m["config"] = to_json(c);
  m["n_domains"] = "2";
  m["domains"] = nlohmann::json(std::vector<std::string>{"code", "prose"}).dump();
  m["step"] = "40";
  m["run_id"] = "3";
  m["run_name"] = "seed";
  m["sampler_state"] = "1 2 3 4";
  m["elapsed_s"] = "12.5";
  m["corpus_hash"] = "0123456789abcdef";
  m["run_log_path"] = "/tmp/runs.sqlite";
  m["has_optimizer"] = "1";
  m["optimizer_step"] = "40";
  return encode_safetensors(t, m);
}

// The same file without its checksums (an older file): mutations of it reach the checkpoint
// parser instead of stopping at the checksum, which any changed byte of a checksummed file does.
std::string without_checksums(const std::string& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(file[size_t(i)]);
  auto header = nlohmann::ordered_json::parse(file.substr(8, size_t(n)));
  header["__metadata__"].erase(kTensorChecksumsKey);
  header["__metadata__"].erase(kHeaderChecksumKey);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  return out + text + file.substr(8 + size_t(n));
}

// A folder for fuzz_import: config.json, the separator, model.safetensors of the smallest GPT-2
// with vocabulary 256 (no checksums, so mutations reach the reader), its tensors as `dtype`
// under `prefix`, optionally with a tied lm_head.weight and the old attention buffers.
std::string gpt2_folder(DType dtype, const std::string& prefix, bool extras, bool with_config) {
  ModelConfig c;
  c.n_layer = 1;
  c.n_embd = 4;
  c.n_head = 2;
  c.block_size = 4;
  const ParamLayout layout = gpt_param_layout(c);
  const size_t width = dtype == DType::kF32 ? 4 : 2;
  std::vector<uint8_t> bytes(size_t(layout.total) * width);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i % 2 ? 0x3c : 0x00);  // 1.0 in f16, small in bf16
  std::vector<TensorView> t;
  for (const auto& e : layout.entries)
    t.push_back({prefix + e.name, dtype, e.shape, bytes.data() + size_t(e.offset) * width});
  if (extras) {
    const auto& wte = layout.at("wte.weight");
    t.push_back({"lm_head.weight", dtype, wte.shape, bytes.data() + size_t(wte.offset) * width});
    t.push_back({prefix + "h.0.attn.bias", dtype, {1, 1, 2, 2}, bytes.data()});
  }
  SafetensorsMetadata m;
  if (!with_config) m["n_head"] = "2";
  const std::string config =
      with_config ? R"({"model_type":"gpt2","vocab_size":256,"n_positions":4,"n_embd":4,"n_layer":1,"n_head":2})"
                  : "";
  const std::string file = without_checksums(encode_safetensors(t, m));
  return with_config ? config + std::string("\0SPLIT\0", 7) + file : file;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  for (const char* d : {"", "/safetensors", "/checkpoint_meta", "/manifest", "/config", "/gpt2_config", "/documents",
                        "/import"})
    ::mkdir((out + d).c_str(), 0755);

  // safetensors: several dtypes and shapes, with and without metadata, an empty file.
  const float f[6] = {1, 2, 3, 4, 5, 6};
  const double g[2] = {1.5, -2};
  const uint8_t b[3] = {1, 0, 1};
  const int64_t i[2] = {-7, 7};
  put(out + "/safetensors/mixed.safetensors",
      encode_safetensors({{"w", DType::kF32, {2, 3}, f}, {"d", DType::kF64, {2}, g},
                          {"m", DType::kBool, {3}, b}, {"i", DType::kI64, {1, 2}, i},
                          {"s", DType::kF32, {}, f}},
                         {{"format", "pt"}, {"note", "seed"}}));
  put(out + "/safetensors/empty_tensor.safetensors",
      encode_safetensors({{"z", DType::kF32, {0, 4}, f}}));
  put(out + "/safetensors/none.safetensors", encode_safetensors({}));
  put(out + "/safetensors/checkpoint.safetensors", tiny_checkpoint(false));

  put(out + "/safetensors/old.safetensors", without_checksums(tiny_checkpoint(false)));

  put(out + "/checkpoint_meta/dense.ckpt", without_checksums(tiny_checkpoint(false)));
  put(out + "/checkpoint_meta/soup.ckpt", without_checksums(tiny_checkpoint(true)));
  put(out + "/checkpoint_meta/checksummed.ckpt", tiny_checkpoint(true));

  // An export folder's config.json (engine/export/model_card.h), as written and as transformers
  // writes it.
  put(out + "/gpt2_config/souplab.json",
      R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 256, "n_positions": 256,)"
      R"( "n_embd": 64, "n_layer": 2, "n_head": 4, "n_inner": null, "activation_function": "gelu_new",)"
      R"( "tie_word_embeddings": true, "torch_dtype": "float32"})");
  put(out + "/gpt2_config/minimal.json",
      R"({"model_type":"gpt2","vocab_size":256,"n_positions":32,"n_embd":8,"n_layer":1,"n_head":2})");

  // Folders coming back in: SoupLab's own, transformers' prefixed f16 and bf16 ones with their
  // extras, and one without config.json.
  put(out + "/import/f32.bin", gpt2_folder(DType::kF32, "", false, true));
  put(out + "/import/hf_f16.bin", gpt2_folder(DType::kF16, "transformer.", true, true));
  put(out + "/import/hf_bf16.bin", gpt2_folder(DType::kBF16, "transformer.", true, true));
  put(out + "/import/no_config.bin", gpt2_folder(DType::kF32, "", false, false));

  // Documents: form-feed separated, with CRLF, a final form feed, empty documents, long lines.
  put(out + "/documents/two.txt", "first document\nline two\n\f\nsecond\n\f\n");
  put(out + "/documents/crlf.txt", "a\r\n\f\r\nb\r\n\f");
  put(out + "/documents/long.txt", std::string(5000, 'x') + "\n" + std::string(300, 'y') + "\n\f\n\f\n\f\nz");

  // Manifests matching the scratch token files of fuzz_manifest.cpp (a, b: 300 + 40 bytes).
  nlohmann::json doms = nlohmann::json::array();
  for (const char* name : {"a", "b"})
    doms.push_back({{"name", name}, {"documents", 3}, {"train_documents", 2}, {"val_documents", 1},
                    {"train_tokens", 300}, {"val_tokens", 40}});
  nlohmann::json m = {{"format", 1},
                      {"corpus_dir", "/tmp/corpus"},
                      {"content_hash", "0123456789abcdef"},
                      {"options", {{"val_fraction", 0.01}, {"min_val_tokens", 8192}, {"max_domain_bytes", 0}}},
                      {"domains", doms}};
  put(out + "/manifest/manifest.json", m.dump(2) + "\n");
  m["domains"][1]["val_tokens"] = 0;
  put(out + "/manifest/short.json", m.dump() + "\n");

  RunConfig def;
  put(out + "/config/default.json", to_json(def));
  def.train.mixture = {0.25, 0.75};
  def.train.kind = ModelKind::kDense;
  def.model.n_layer = 1;
  put(out + "/config/dense.json", to_json(def));
  put(out + "/config/partial.json", R"({"model": {"n_embd": 64, "n_head": 2}, "train": {"steps": 5, "lr": 1e-3}})");
  put(out + "/config/empty.json", "{}");
  return 0;
}
