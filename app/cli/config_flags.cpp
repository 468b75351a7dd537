#include "app/cli/config_flags.h"

#include <algorithm>

namespace souplab::cli {

std::vector<ConfigFlag> config_flags_of(Args& a, const std::vector<std::string>& sections) {
  std::vector<ConfigFlag> out;
  for (const ConfigFlag& f : config_flags()) {
    if (std::find(sections.begin(), sections.end(), f.section) == sections.end()) continue;
    a.flag(f.flag, f.value_name, f.help, f.default_text);
    out.push_back(f);
  }
  return out;
}

void apply_config_flags(const Args& a, const std::vector<ConfigFlag>& flags, RunConfig* c) {
  for (const ConfigFlag& f : flags) {
    if (!a.has(f.flag)) continue;
    try {
      set_config_flag(*c, f.flag, a.get(f.flag));
    } catch (const Error& e) {  // a value the flag cannot take ("--steps many"): the command line's fault
      a.usage_error(e.what());
    }
  }
}

}  // namespace souplab::cli
