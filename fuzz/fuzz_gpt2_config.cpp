// libFuzzer target: an export folder's config.json (parse_gpt2_config_json, the reader behind
// loading an exported or Hugging Face GPT-2 folder). A config that parses must be valid.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/export/model_card.h"
#include "souplab/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  const std::string text(reinterpret_cast<const char*>(data), size);
  ModelConfig c;
  try {
    c = parse_gpt2_config_json(text, "<fuzz>");
  } catch (const Error&) {
    return 0;
  }
  try {
    validate(c);  // what it returns is a model SoupLab can build
  } catch (const Error&) {
    std::abort();
  }
  return 0;
}
