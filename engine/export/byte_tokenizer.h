#pragma once
// The tokenizer files of an export folder, so that Hugging Face transformers' AutoTokenizer,
// AutoModelForCausalLM and pipeline("text-generation") load the folder with no code of ours:
//   tokenizer.json         the `tokenizers` library's format: a BPE model whose vocabulary is the
//                          256 bytes, each spelled as GPT-2's bytes_to_unicode() character, with
//                          token id == byte value and no merges; a ByteLevel pre-tokenizer (no
//                          prefix space, no regex split) and a ByteLevel decoder;
//   tokenizer_config.json  PreTrainedTokenizerFast, model_max_length = the context, and no special
//                          tokens: the models have none (no BOS, EOS, PAD or UNK), so none is
//                          invented;
//   generation_config.json no BOS/EOS/PAD (generation stops at max_new_tokens, as souplab-cli
//                          generate does) and SoupLab's default sampling (SampleOptions).
// Pure functions, so tests check them directly.
#include <string>

#include "souplab/config.h"

namespace souplab {

// GPT-2's bytes_to_unicode(): the printable character that stands for byte `b` in byte-level
// vocabularies, UTF-8 encoded. Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
// U+00AE..U+00FF) stand for themselves; the other 68 bytes map, in increasing order, to
// U+0100, U+0101, ... (so ' ' is U+0120 "Ġ").
std::string byte_level_char(unsigned char b);

std::string tokenizer_json();
std::string tokenizer_config_json(const ModelConfig& config);
std::string generation_config_json();

}  // namespace souplab
