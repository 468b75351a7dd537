#include "engine/export/model_card.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "souplab/error.h"
#include "souplab/specialist.h"  // SampleOptions (torch-free header)

namespace souplab {

namespace {

using ordered_json = nlohmann::ordered_json;

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Domain names come from folder names: keep them from breaking a Markdown table row.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += "\\|";
    else if (ch == '\n' || ch == '\r') out += ' ';
    else out += ch;
  }
  return out;
}

ordered_json domain_weights_json(const SpecialistCard& card) {
  ordered_json w = ordered_json::object();
  for (size_t i = 0; i < card.h.size(); ++i) w[card.domain_names[i]] = card.h[i];
  return w;
}

ordered_json val_losses_json(const SpecialistCard& card) {
  ordered_json w = ordered_json::object();
  for (size_t i = 0; i < card.val_losses.size(); ++i)
    w[card.domain_names[i]] = std::isfinite(card.val_losses[i]) ? ordered_json(card.val_losses[i]) : ordered_json();
  return w;
}

const char* kTokenizer = "bytes: token id = byte value (0..255), no special tokens";

// A YAML scalar that any text survives: a JSON string is a YAML double-quoted scalar.
std::string yaml_string(const std::string& s) {
  return ordered_json(s).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

// The Hub's front matter: licence, library, task, lineage, tags.
std::string front_matter(const SpecialistCard& card) {
  std::ostringstream o;
  o << "---\nlicense: " << yaml_string(card.license.empty() ? "other" : card.license) << "\n";
  o << "library_name: transformers\npipeline_tag: text-generation\n";
  if (!card.base_models.empty()) {
    o << "base_model:\n";
    for (const auto& b : card.base_models) o << "- " << yaml_string(b) << "\n";
    if (!card.base_model_relation.empty()) o << "base_model_relation: " << yaml_string(card.base_model_relation) << "\n";
  }
  o << "tags:\n- gpt2\n- souplab\n- soup-of-experts\n- byte-level\n";
  if (card.base_model_relation == "merge") o << "- merge\n";
  o << "---\n\n";
  return o.str();
}

}  // namespace

void validate(const SpecialistCard& card) {
  // No weights at all is allowed: a merged model has per-domain losses but no domain weights.
  if (!card.h.empty() && card.h.size() != card.domain_names.size())
    throw Error("specialist card: " + std::to_string(card.h.size()) + " domain weights for " +
                std::to_string(card.domain_names.size()) + " domain names");
  if (!card.val_losses.empty() && card.val_losses.size() != card.domain_names.size())
    throw Error("specialist card: " + std::to_string(card.val_losses.size()) + " validation losses for " +
                std::to_string(card.domain_names.size()) + " domains");
  for (size_t i = 0; i < card.h.size(); ++i)
    if (!std::isfinite(card.h[i]) || card.h[i] < 0)
      throw Error("specialist card: weight of domain \"" + card.domain_names[i] + "\" is " + std::to_string(card.h[i]));
  if (!card.base_model_relation.empty()) {
    if (card.base_model_relation != "finetune" && card.base_model_relation != "merge" &&
        card.base_model_relation != "adapter" && card.base_model_relation != "quantized")
      throw Error("specialist card: base_model_relation \"" + card.base_model_relation +
                  "\" is none of finetune, merge, adapter, quantized");
    if (card.base_models.empty()) throw Error("specialist card: base_model_relation without a base model");
  }
  for (const auto& b : card.base_models)
    if (b.empty()) throw Error("specialist card: an empty base model name");
  for (size_t i = 0; i < card.domain_names.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (card.domain_names[i] == card.domain_names[j])
        throw Error("specialist card: domain \"" + card.domain_names[i] + "\" appears twice");
}

std::string gpt2_config_json(const ModelConfig& c, const SpecialistCard& card) {
  ordered_json j;
  j["model_type"] = "gpt2";
  j["architectures"] = {"GPT2LMHeadModel"};
  j["vocab_size"] = c.vocab_size;
  j["n_positions"] = c.block_size;
  j["n_ctx"] = c.block_size;  // older transformers releases read n_ctx
  j["n_embd"] = c.n_embd;
  j["n_layer"] = c.n_layer;
  j["n_head"] = c.n_head;
  j["n_inner"] = nullptr;  // = 4 * n_embd
  j["activation_function"] = "gelu_new";  // the tanh approximation
  j["layer_norm_epsilon"] = 1e-5;
  j["tie_word_embeddings"] = true;
  j["scale_attn_weights"] = true;
  j["resid_pdrop"] = 0.0;
  j["embd_pdrop"] = 0.0;
  j["attn_pdrop"] = 0.0;
  j["initializer_range"] = 0.02;
  j["bos_token_id"] = nullptr;  // bytes only: GPT-2's 50256 would lie outside the vocabulary
  j["eos_token_id"] = nullptr;
  // "dtype" is what transformers 5 reads and writes; "torch_dtype" what releases before it read.
  j["dtype"] = "float32";
  j["torch_dtype"] = "float32";
  j["souplab_tokenizer"] = kTokenizer;
  ordered_json s;
  s["run_id"] = card.run_id;
  s["run_name"] = card.run_name;
  s["run_kind"] = model_kind_name(card.run_kind);
  s["step"] = card.step;
  s["domain_names"] = card.domain_names;
  s["domain_weights"] = card.h;
  if (!card.val_losses.empty()) s["val_losses"] = val_losses_json(card);
  j["souplab"] = s;
  return j.dump(2) + "\n";
}

SafetensorsMetadata specialist_metadata(const ModelConfig& c, const SpecialistCard& card) {
  SafetensorsMetadata m;
  m["format"] = "pt";
  m["souplab_tokenizer"] = kTokenizer;
  m["model_type"] = "gpt2";
  m["vocab_size"] = std::to_string(c.vocab_size);
  m["n_positions"] = std::to_string(c.block_size);
  m["n_embd"] = std::to_string(c.n_embd);
  m["n_layer"] = std::to_string(c.n_layer);
  m["n_head"] = std::to_string(c.n_head);
  m["run_id"] = card.run_id;
  m["run_name"] = card.run_name;
  m["step"] = std::to_string(card.step);
  m["domain_names"] = ordered_json(card.domain_names).dump();
  m["domain_weights"] = domain_weights_json(card).dump();
  if (!card.val_losses.empty()) m["val_losses"] = val_losses_json(card).dump();
  if (!card.merge_json.empty()) m["merge"] = card.merge_json;
  return m;
}

std::string model_card_markdown(const ModelConfig& c, const SpecialistCard& card, int64_t n_params,
                                const std::vector<std::string>& files) {
  std::ostringstream o;
  o << front_matter(card);
  o << "# SoupLab specialist" << (card.run_name.empty() ? "" : ": " + card.run_name) << "\n\n";
  if (card.run_kind == ModelKind::kSoup)
    o << "A byte-level GPT-2 layout language model instantiated from a Soup-of-Experts bank for the "
         "domain weights below.\n\n";
  else if (card.run_kind == ModelKind::kMerged)
    o << "A byte-level GPT-2 layout language model merged from other models (method, inputs and "
         "weights below).\n\n";
  else
    o << "A byte-level GPT-2 layout language model from a " << model_kind_name(card.run_kind)
      << " run, trained on the domain mixture below.\n\n";
  if (!card.notes.empty()) o << card.notes << "\n\n";

  if (!card.h.empty() || card.run_kind != ModelKind::kMerged) {
    o << "## Domain weights\n\n| domain | weight |\n|---|---|\n";
    for (size_t i = 0; i < card.h.size(); ++i)
      o << "| " << md_cell(card.domain_names[i]) << " | " << fixed(card.h[i], 4) << " |\n";
  }

  o << "\n## Validation loss per domain\n\n";
  if (card.val_losses.empty()) {
    o << "Not evaluated at export time.\n";
  } else {
    o << "| domain | loss (nats/byte) | bits/byte |\n|---|---|---|\n";
    for (size_t i = 0; i < card.val_losses.size(); ++i)
      o << "| " << md_cell(card.domain_names[i]) << " | " << fixed(card.val_losses[i], 4) << " | "
        << fixed(card.val_losses[i] / std::log(2.0), 4) << " |\n";
  }

  o << "\n## Source\n\n";
  o << "- run: " << (card.run_name.empty() ? "(unnamed)" : card.run_name) << " (id `" << card.run_id << "`)\n";
  o << "- step: " << card.step << "\n";
  if (!card.source_checkpoint.empty()) o << "- checkpoint: `" << card.source_checkpoint << "`\n";

  o << "\n## Model\n\n";
  o << "- parameters: " << n_params << " (output embedding tied to `wte.weight`, counted once)\n";
  o << "- layers " << c.n_layer << ", width " << c.n_embd << ", heads " << c.n_head << ", context "
    << c.block_size << " bytes, vocabulary " << c.vocab_size << "\n";
  o << "- pre-LayerNorm (eps 1e-5), learned positions, GELU (tanh approximation, `gelu_new`), "
       "GPT-2 tensor names with Conv1D weights stored as (in, out)\n";
  o << "- tokenisation: " << kTokenizer << ". `tokenizer.json` spells them as a byte-level BPE with the 256 "
       "bytes as its vocabulary (GPT-2's byte-to-character mapping) and no merges, so "
       "`tokenizer.encode(text)` is the text's UTF-8 bytes and any byte string has its ids. Decoding ids that are "
       "not valid UTF-8 gives U+FFFD replacement characters (as any transformers tokenizer does): take "
       "`bytes(ids)` for the exact bytes\n";
  o << "- special tokens: none. There is no end-of-text token (`eos_token_id` is null), so generation runs "
       "until `max_new_tokens`; there is no padding token, so prompts are generated one at a time. "
       "`generation_config.json` samples as `souplab-cli generate` does by default (temperature "
    << fixed(SampleOptions().temperature, 1) << ", top-k " << SampleOptions().top_k
    << "); `do_sample=False` is greedy\n";
  o << "- context: prompt and continuation together at most " << c.block_size
    << " bytes in transformers (learned positions stop there); `souplab-cli generate` slides the window "
       "beyond it\n";
  o << "- files:";
  for (const auto& f : files) o << " `" << f << "`";
  o << "\n";

  o << "\n## Licence\n\nThe front matter's `license` is "
    << (card.license.empty() ? std::string("`other`: the weights were trained by whoever exported them, on their "
                                           "data, and their licence is theirs to state (replace it before "
                                           "publishing). SoupLab, the software that trained them, is "
                                           "GPL-3.0-or-later; that licence is not the weights'.")
                             : "`" + card.license + "`, as given by the exporter.")
    << "\n";
  if (!card.base_models.empty())
    o << "\n`base_model` names what this model was made from as the exporter named it (a local path, or a Hub "
         "id); replace local paths by Hub ids before publishing.\n";

  o << "\n## How to load\n\nWith transformers (PyTorch), tokenizer included:\n\n```python\n"
       "from transformers import pipeline\n"
       "generate = pipeline(\"text-generation\", model=\"path/to/this/folder\")\n"
       "print(generate(\"Hello\", do_sample=False, max_new_tokens=40)[0][\"generated_text\"])\n```\n\n"
       "or the model and tokenizer themselves:\n\n```python\nimport torch\n"
       "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
       "tokenizer = AutoTokenizer.from_pretrained(\"path/to/this/folder\")\n"
       "model = AutoModelForCausalLM.from_pretrained(\"path/to/this/folder\").eval()  # GPT2LMHeadModel\n"
       "ids = torch.tensor([tokenizer.encode(\"Hello\")])  # the UTF-8 bytes: [[72, 101, 108, 108, 111]]\n"
       "logits = model(ids).logits  # (1, 5, 256)\n```\n\n";
  o << "With ONNX Runtime (`model.onnx`, a decoder with a key/value cache under optimum's names: "
       "inputs `input_ids` and `position_ids` int64 [batch, sequence], `attention_mask` int64 [batch, "
       "past + sequence] (0 = padding), `past_key_values.<i>.key` / `.value` float32 [batch, "
    << c.n_head << ", past, " << c.n_embd / std::max(1, c.n_head) << "] (past = 0 on the first call); outputs `logits` "
    << "float32 [batch, sequence, " << c.vocab_size << "] and `present.<i>.key` / `.value`, the next call's past; "
    << "past + sequence <= " << c.block_size << "):\n\n"
    << "```python\nimport numpy as np, onnxruntime as ort\n"
       "session = ort.InferenceSession(\"model.onnx\")\n"
       "past = {i.name: np.zeros((1, i.shape[1], 0, i.shape[3]), np.float32)\n"
       "        for i in session.get_inputs() if i.name.startswith(\"past_key_values.\")}\n"
       "ids = np.frombuffer(b\"Hello\", dtype=np.uint8).astype(np.int64)[None, :]\n"
       "out = session.run(None, {\"input_ids\": ids, \"attention_mask\": np.ones_like(ids),\n"
       "                         \"position_ids\": np.arange(ids.shape[1])[None, :], **past})\n"
       "logits = out[0]  # out[1:]: present.* in the order of the outputs, the next call's past_key_values.*\n```\n\n";
  for (const std::string& f : files)
    if (f.size() > 5 && f.compare(f.size() - 5, 5, ".gguf") == 0)
      o << "With llama.cpp (`" << f << "`: architecture gpt2, the 256 bytes as tokens; its BOS/EOS id is byte 0, "
        << "never added, so generation runs to its token limit):\n\n```sh\nllama-cli -m " << f
        << " -p \"Hello\" -n 40 --temp 0 --ignore-eos\n```\n\nor from Python with llama-cpp-python:\n\n"
        << "```python\nfrom llama_cpp import Llama\nllm = Llama(model_path=\"" << f << "\")\n"
        << "print(llm(\"Hello\", max_tokens=40, temperature=0)[\"choices\"][0][\"text\"])\n```\n\n";
  o << "In SoupLab: `load_specialist_safetensors(\"path/to/this/folder\")` "
       "(engine/export/specialist_export.h).\n";
  return o.str();
}

ModelConfig parse_gpt2_config_json(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw file_error(source, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw file_error(source, "not a JSON object");
  // value() would throw nlohmann's own type_error for a non-string model_type (found by fuzzing).
  if (!j.contains("model_type") || !j["model_type"].is_string() || j["model_type"].get<std::string>() != "gpt2")
    throw file_error(source, "model_type is not \"gpt2\"");
  auto get_int = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() <= 0 ||
        j[key].get<int64_t>() > (int64_t(1) << 30))
      throw file_error(source, std::string("\"") + key + "\" is missing or not a positive integer");
    return int(j[key].get<int64_t>());
  };
  ModelConfig c;
  c.vocab_size = get_int("vocab_size");
  c.block_size = get_int("n_positions");
  c.n_embd = get_int("n_embd");
  c.n_layer = get_int("n_layer");
  c.n_head = get_int("n_head");
  if (j.contains("n_inner") && !j["n_inner"].is_null() &&
      !(j["n_inner"].is_number_integer() && j["n_inner"].get<int64_t>() == 4 * int64_t(c.n_embd)))
    throw file_error(source, "n_inner other than 4 * n_embd is not supported");
  if (j.contains("activation_function") && j["activation_function"] != "gelu_new")
    throw file_error(source, "activation_function " + j["activation_function"].dump() + " is not supported (gelu_new)");
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"] != true)
    throw file_error(source, "untied output embeddings are not supported");
  // Options of transformers' GPT-2 that change what the model computes (a folder saved by
  // transformers may carry any of them): refused rather than run as a different model.
  if (j.contains("layer_norm_epsilon") &&
      !(j["layer_norm_epsilon"].is_number() && std::abs(j["layer_norm_epsilon"].get<double>() - 1e-5) <= 1e-12))
    throw file_error(source, "layer_norm_epsilon " + j["layer_norm_epsilon"].dump() + " is not supported (1e-5)");
  if (j.contains("scale_attn_weights") && j["scale_attn_weights"] != true)
    throw file_error(source, "scale_attn_weights other than true is not supported");
  if (j.contains("scale_attn_by_inverse_layer_idx") && j["scale_attn_by_inverse_layer_idx"] != false)
    throw file_error(source, "scale_attn_by_inverse_layer_idx other than false is not supported");
  try {
    validate(c);
  } catch (const Error& e) {
    throw file_error(source, e.what());
  }
  return c;
}

}  // namespace souplab
