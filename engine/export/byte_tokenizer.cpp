#include "engine/export/byte_tokenizer.h"

#include <nlohmann/json.hpp>

#include "souplab/specialist.h"  // SampleOptions: the sampling defaults (a torch-free header)

namespace souplab {

namespace {

using ordered_json = nlohmann::ordered_json;

bool stands_for_itself(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

std::string utf8(unsigned cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else {  // every code point here is below U+0800: two bytes
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace

std::string byte_level_char(unsigned char b) {
  if (stands_for_itself(b)) return utf8(b);
  unsigned n = 0;  // how many bytes below b do not stand for themselves
  for (unsigned x = 0; x < b; ++x) n += stands_for_itself(x) ? 0 : 1;
  return utf8(256 + n);
}

std::string tokenizer_json() {
  ordered_json vocab = ordered_json::object();
  for (unsigned b = 0; b < 256; ++b) vocab[byte_level_char(static_cast<unsigned char>(b))] = b;
  // The ByteLevel pre-tokenizer maps every byte of the text to its character; with use_regex
  // false it does not split words (GPT-2's regex would, and with no merges nothing depends on
  // it) and with add_prefix_space false it adds nothing, so encode(text) is the text's bytes.
  ordered_json byte_level{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                          {"use_regex", false}};
  ordered_json model{{"type", "BPE"},
                     {"dropout", nullptr},
                     {"unk_token", nullptr},
                     {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr},
                     {"fuse_unk", false},
                     {"byte_fallback", false},
                     {"ignore_merges", false},
                     {"vocab", vocab},
                     {"merges", ordered_json::array()}};
  ordered_json j{{"version", "1.0"},
                 {"truncation", nullptr},
                 {"padding", nullptr},
                 {"added_tokens", ordered_json::array()},
                 {"normalizer", nullptr},
                 {"pre_tokenizer", byte_level},
                 {"post_processor", nullptr},
                 {"decoder", byte_level},
                 {"model", model}};
  return j.dump(2) + "\n";
}

std::string tokenizer_config_json(const ModelConfig& c) {
  ordered_json j;
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  j["model_max_length"] = c.block_size;
  // Decoding gives back the bytes as they were: no space clean-up, no prefix space.
  j["clean_up_tokenization_spaces"] = false;
  j["add_prefix_space"] = false;
  // The models were trained on raw bytes with no special tokens: none is declared, rather than
  // a made-up end-of-text byte the model never learnt to emit.
  j["bos_token"] = nullptr;
  j["eos_token"] = nullptr;
  j["unk_token"] = nullptr;
  j["pad_token"] = nullptr;
  j["added_tokens_decoder"] = ordered_json::object();
  j["model_input_names"] = {"input_ids", "attention_mask"};
  return j.dump(2) + "\n";
}

std::string generation_config_json() {
  const SampleOptions d;
  ordered_json j;
  // No special tokens: generation runs to max_new_tokens (or max_length), as souplab-cli
  // generate runs to --length; batches of prompts of different lengths cannot be padded.
  j["bos_token_id"] = nullptr;
  j["eos_token_id"] = nullptr;
  j["pad_token_id"] = nullptr;
  // souplab-cli generate's defaults; do_sample=False (or --temperature 0) is greedy in both.
  j["do_sample"] = true;
  j["temperature"] = d.temperature;
  j["top_k"] = d.top_k;
  return j.dump(2) + "\n";
}

}  // namespace souplab
