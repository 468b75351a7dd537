// libFuzzer target: an export folder or a transformers GPT-2 folder coming back in
// (load_specialist_safetensors: prefixed names, F16/BF16 widening, a tied lm_head, attention
// buffers, shapes against config.json). The input is config.json's text, the separator
// kSeparator, and model.safetensors' bytes (no separator: no config.json, the shapes and
// metadata must say it all). Each input is written into one scratch folder and read back.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/export/specialist_import.h"
#include "souplab/error.h"

namespace {

const std::string kSeparator("\0SPLIT\0", 7);

const std::string& scratch() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/souplab-fuzz-import.XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    return std::string(tmpl);
  }();
  return dir;
}

void put(const std::string& path, const char* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string dir = scratch();
  const size_t at = input.find(kSeparator);
  std::remove((dir + "/config.json").c_str());
  if (at != std::string::npos) put(dir + "/config.json", input.data(), at);
  const size_t body = at == std::string::npos ? 0 : at + kSeparator.size();
  put(dir + "/model.safetensors", input.data() + body, input.size() - body);
  LoadedSpecialist s;
  try {
    s = load_specialist_safetensors(dir);
  } catch (const Error&) {
    return 0;
  }
  // What loads is a model SoupLab can build, its theta exactly the layout's size.
  if (s.theta.size() != size_t(gpt_param_layout(s.config).total)) std::abort();
  try {
    validate(s.config);
  } catch (const Error&) {
    std::abort();
  }
  return 0;
}
