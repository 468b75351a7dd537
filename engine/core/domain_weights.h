#pragma once
// Domain weights h: a point of the simplex, one weight per domain.
#include <string>
#include <vector>

namespace souplab {

// Checks h against k domains and returns it normalised to sum 1. Throws Error naming the problem
// for a wrong length, a negative, NaN or infinite entry, or an all-zero vector.
std::vector<double> normalize_domain_weights(const std::vector<double>& h, size_t k);

// Parses a user's h against the domain names and normalises it. Accepted forms:
//   "uniform"                        every domain equal
//   "onehot:NAME" or "onehot:INDEX"  all weight on one domain
//   "0.2,0.3,0.5"                    one number per domain, in order
//   "code_c=0.7,code_rust=0.3"       named weights, the others 0
std::vector<double> parse_domain_weights(const std::string& text,
                                         const std::vector<std::string>& domain_names);

std::vector<double> uniform_domain_weights(size_t k);
std::vector<double> one_hot_domain_weights(size_t k, size_t index);

// "code_c=0.700,code_rust=0.300" (non-zero entries only) for logs and model cards.
std::string format_domain_weights(const std::vector<double>& h,
                                  const std::vector<std::string>& domain_names);

}  // namespace souplab
