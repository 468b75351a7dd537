#include <cmath>
#include <cstdio>

#include <string>
#include <vector>

#include "souplab/inspect.h"

namespace souplab {
namespace {

// One term of a sum, its sign as the operator: " + 0.41 E1", " - 0.07 E2" ("S - 0.07 E2", not
// "S + -0.07 E2"); a term that opens the sum has no operator: "0.50 M1", "-0.50 M1".
std::string signed_term(double w, char part, size_t index, int decimals, bool opens) {
  char buf[64];
  if (opens)
    std::snprintf(buf, sizeof buf, "%s%.*f %c%zu", w < 0 ? "-" : "", decimals, std::abs(w), part, index);
  else
    std::snprintf(buf, sizeof buf, " %c %.*f %c%zu", w < 0 ? '-' : '+', decimals, std::abs(w), part, index);
  return buf;
}

}  // namespace

std::string soup_formula(const std::vector<double>& alpha, int decimals) {
  std::string out = "theta = S";
  for (size_t j = 0; j < alpha.size(); ++j) out += signed_term(alpha[j], 'E', j + 1, decimals, false);
  return out;
}

MixingRole merge_mixing_role(const std::string& method, const std::vector<std::string>& inputs,
                             const std::vector<double>& weights, const std::string& base, double lambda) {
  MixingRole r;
  r.role = "merge weights";
  r.columns = inputs;
  r.rows = {"weight"};
  r.values = {weights};
  r.values[0].resize(inputs.size(), 0.0);
  // Short names in the formula (M1, M2, ...): the inputs are paths, listed in full in columns.
  std::string sum;
  for (size_t i = 0; i < inputs.size(); ++i) sum += signed_term(r.values[0][i], 'M', i + 1, 2, i == 0);
  if (base.empty()) {
    r.formula = "theta = " + sum + "  (" + method + ")";
    r.note = "The merged model is the same for every h: these weights, not h, made it.";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", lambda);
    r.formula = "theta = base + " + std::string(buf) + " * " + method + "(" + sum + ", on tau_i = M_i - base)";
    r.note = "The merged model is the same for every h: task vectors of the inputs against the base (" + base +
             "), combined by " + method + " with these weights.";
  }
  return r;
}

}  // namespace souplab
