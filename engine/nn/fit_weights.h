#pragma once
// Fitting h through a soup bank (docs/DESIGN.md §1.5 (b)), for the bank's Model::fit_weights.
#include <string>
#include <vector>

#include "souplab/target_weights.h"
#include "engine/nn/soup.h"

namespace souplab {

// h = softmax(z) minimising the specialist's loss on windows of `target`, Adam on z from uniform
// h, the bank frozen. `domains` are the bank's, in h's order.
FitResult fit_weights_through(const SoupBank& bank, const std::vector<std::string>& domains,
                              const std::string& target, const FitOptions& options);

}  // namespace souplab
