#pragma once
// The run config's keys as command-line flags: declared, documented and parsed from the engine's
// one config table (souplab/config.h: config_flags, set_config_flag), so a key added there is a
// flag of `train` (and of `info`, for model and bank sizes) with no change here.
#include <string>
#include <vector>

#include "app/cli/cli_args.h"
#include "souplab/config.h"

namespace souplab::cli {

// Declares on `a` the flags of the keys of `sections` ("model", "bank", "moe", "train"), with
// their help and defaults, and returns them.
std::vector<ConfigFlag> config_flags_of(Args& a, const std::vector<std::string>& sections);

// Sets every flag of `flags` that was given on the command line (in table order).
void apply_config_flags(const Args& a, const std::vector<ConfigFlag>& flags, RunConfig* c);

}  // namespace souplab::cli
