#pragma once
// ONNX export of one instantiated specialist (a GPT-2 layout model held as the flat vector
// theta), as a decoder with a KV cache under the names optimum and onnxruntime-genai use:
//   in:  input_ids (int64, [batch, sequence]), attention_mask (int64, [batch, past + sequence];
//        0 = padding), position_ids (int64, [batch, sequence]), past_key_values.<i>.key/.value
//        (float, [batch, heads, past, head size]; past = 0 on the first call)
//   out: logits (float, [batch, sequence, vocab]), present.<i>.key/.value ([batch, heads,
//        past + sequence, head size]), the next call's past.
// Every axis but heads, head size and vocab is dynamic; past + sequence must stay within
// block_size (the learned positions). IR version 8, opset 17, so that onnx 1.12's checker
// (Debian 12's python3-onnx) and current runtimes accept it.
// The graph repeats the libtorch forward op for op (LayerNormalization, Conv1D-orientation
// MatMuls, causal softmax attention, tanh-GELU built from Mul/Add/Tanh, tied output
// embedding); the initializers keep the GPT-2 tensor names of param_layout.h.
#include <map>
#include <string>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace souplab {

constexpr int kOnnxIrVersion = 8;
constexpr int kOnnxOpset = 17;

// Serialised ModelProto bytes; `metadata` goes into metadata_props (string -> string).
// Throws Error when theta is null, the layout does not belong to `config`, or the model
// would exceed protobuf's 2 GB message limit.
std::string encode_gpt_onnx(const ModelConfig& config, const ParamLayout& layout, const float* theta,
                            const std::map<std::string, std::string>& metadata = {});

// Writes encode_gpt_onnx(...) to `path` atomically; Error naming `path` on failure.
void write_gpt_onnx(const std::string& path, const ModelConfig& config, const ParamLayout& layout,
                    const float* theta, const std::map<std::string, std::string>& metadata = {});

}  // namespace souplab
