#pragma once
// The text files of a specialist export: config.json (a Hugging Face GPT-2 config, so that
// GPT2LMHeadModel.from_pretrained loads the folder), the safetensors __metadata__, and the
// README.md model card. Pure functions of their arguments, so tests can check them directly.
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "engine/core/safetensors.h"
#include "engine/export/specialist_export.h"

namespace souplab {

// Throws Error if the card is inconsistent (h and names of different lengths, ...).
void validate(const SpecialistCard& card);

std::string gpt2_config_json(const ModelConfig& config, const SpecialistCard& card);

// string -> string; "format": "pt" is what transformers expects of a PyTorch safetensors file.
SafetensorsMetadata specialist_metadata(const ModelConfig& config, const SpecialistCard& card);

std::string model_card_markdown(const ModelConfig& config, const SpecialistCard& card, int64_t n_params,
                                const std::vector<std::string>& files);

// Reads a config.json written by gpt2_config_json (or any GPT-2 config with the same
// architecture); Error naming `source` for a missing key, a wrong type or another architecture.
ModelConfig parse_gpt2_config_json(const std::string& json, const std::string& source);

}  // namespace souplab
