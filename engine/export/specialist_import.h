#pragma once
// The way back in: an export folder (or its model.safetensors alone), or a GPT-2 folder saved by
// Hugging Face transformers, read as one dense GPT-2's config and theta. Torch- and ONNX-free.
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/param_layout.h"
#include "engine/core/safetensors.h"

namespace souplab {

struct LoadedSpecialist {
  ModelConfig config;
  std::vector<float> theta;      // in gpt_param_layout(config) order
  SafetensorsMetadata metadata;  // the file's __metadata__
  std::string source;            // the safetensors path read
  bool verified = false;         // the file's checksums were present and matched
};

// Reads an export folder (or a model.safetensors file directly), or a GPT-2 folder saved by
// Hugging Face transformers (GPT2LMHeadModel.save_pretrained). The config comes from
// config.json beside the file, else from the tensor shapes plus n_head in the metadata.
// Every tensor of the layout must be present with the right shape, as F32, F16 or BF16 (the
// last two converted to float32 exactly), under its GPT-2 name or with transformers' prefix
// "transformer."; the only other tensors allowed are "lm_head.weight" when it equals
// wte.weight (tied) and the attention buffers "h.N.attn.bias" / "h.N.attn.masked_bias" older
// transformers releases saved. Anything else is an Error naming the file, the tensor and the
// shapes.
LoadedSpecialist load_specialist_safetensors(const std::string& dir_or_file);

}  // namespace souplab
