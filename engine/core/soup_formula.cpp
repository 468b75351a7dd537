#include <cmath>
#include <cstdio>

#include <string>
#include <vector>

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

namespace souplab {

MixingRole merge_mixing_role(const std::string& method, const std::vector<std::string>& inputs,
                             const std::vector<double>& weights, const std::string& base, double lambda) {
  MixingRole r;
  r.role = "merge weights";
  r.columns = inputs;
  r.rows = {"weight"};
  r.values = {weights};
  r.values[0].resize(inputs.size(), 0.0);
  // Short names in the formula (M1, M2, ...): the inputs are paths, listed in full in columns.
  char buf[64];
  std::string sum;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const double w = r.values[0][i];
    std::snprintf(buf, sizeof buf, "%s%.2f M%zu", i == 0 ? (w < 0 ? "-" : "") : (w < 0 ? " - " : " + "), std::abs(w), i + 1);
    sum += buf;
  }
  if (base.empty()) {
    r.formula = "theta = " + sum + "  (" + method + ")";
    r.note = "The merged model is the same for every h: these weights, not h, made it.";
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", lambda);
    r.formula = "theta = base + " + std::string(buf) + " * " + method + "(" + sum + ", on tau_i = M_i - base)";
    r.note = "The merged model is the same for every h: task vectors of the inputs against the base (" + base +
             "), combined by " + method + " with these weights.";
  }
  return r;
}

}  // namespace souplab
