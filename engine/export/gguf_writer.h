#pragma once
// GGUF export of one instantiated specialist, for llama.cpp and the tools built on it (ollama,
// LM Studio): GGUF version 3, architecture "gpt2", the byte vocabulary, f32, f16 or q8_0.
//
// What llama.cpp's gpt2 loader expects (checked against its sources and two builds; the tests
// run it): tensors token_embd, position_embd, blk.N.{attn_norm, attn_qkv, attn_output, ffn_norm,
// ffn_up, ffn_down}.{weight,bias}, output_norm; no output.weight (tied: llama.cpp reuses
// token_embd). GPT-2's Conv1D weights (in x out) are stored transposed, as llama.cpp's own
// converter does. Only the five 2-D matrices take f16 / q8_0; position_embd, norms and biases
// stay f32 (as llama-quantize leaves them). q8_0 blocks are 32 values along a row: the width
// must be a multiple of 32.
// The tokenizer: model "gpt2" with the 256 byte tokens spelled as GPT-2's bytes_to_unicode()
// characters (token id == byte value), an empty merges list (so every byte stays one token) and
// pre-tokenizer "qwen2" (any known one splits without merging; "gpt-2" would also clean up
// spaces when detokenizing). llama.cpp insists on BOS/EOS ids for this tokenizer type: both
// are byte 0 (NUL, absent from text), never added, so generation runs to its token limit as in
// SoupLab.
#include <map>
#include <string>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace souplab {

enum class GgufType { kF32, kF16, kQ8_0 };

const char* gguf_type_name(GgufType t);                         // "f32" | "f16" | "q8_0"
bool parse_gguf_type(const std::string& name, GgufType* out);  // false if unknown

// Serialised GGUF bytes. `metadata` (string -> string, e.g. the export's domain weights) goes in
// as "souplab.<key>" string values. Throws Error when theta is null, the layout does not belong
// to `config`, or q8_0 is asked for a width that is not a multiple of 32.
std::string encode_gpt_gguf(const ModelConfig& config, const ParamLayout& layout, const float* theta, GgufType type,
                            const std::string& name, const std::map<std::string, std::string>& metadata = {});

// Writes encode_gpt_gguf(...) to `path` atomically; Error naming `path` on failure.
void write_gpt_gguf(const std::string& path, const ModelConfig& config, const ParamLayout& layout, const float* theta,
                    GgufType type, const std::string& name, const std::map<std::string, std::string>& metadata = {});

// IEEE half precision of x, rounded to nearest even (what ggml's fp32 -> fp16 does).
uint16_t float_to_half(float x);

}  // namespace souplab
