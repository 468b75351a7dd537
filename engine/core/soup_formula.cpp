#include <cmath>
#include <cstdio>

#include "souplab/inspect.h"

namespace souplab {

std::string soup_formula(const std::vector<double>& alpha, int decimals) {
  std::string out = "theta = S";
  char buf[64];
  for (size_t j = 0; j < alpha.size(); ++j) {
    // The sign as the operator: "S - 0.07 E2", not "S + -0.07 E2".
    std::snprintf(buf, sizeof buf, " %c %.*f E%zu", alpha[j] < 0 ? '-' : '+', decimals, std::abs(alpha[j]), j + 1);
    out += buf;
  }
  return out;
}

}  // namespace souplab
