// libFuzzer target: run configs (parse_run_config + validate). A config that parses must
// serialise and parse back to the same config.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "souplab/config.h"
#include "souplab/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  const std::string text(reinterpret_cast<const char*>(data), size);
  RunConfig c;
  try {
    c = parse_run_config(text, "<fuzz>");
  } catch (const Error&) {
    return 0;
  }
  const std::string once = to_json(c);
  const std::string twice = to_json(parse_run_config(once, "<round trip>"));  // must not throw
  if (once != twice) std::abort();
  try {
    validate(c);
  } catch (const Error&) {
  }
  return 0;
}
