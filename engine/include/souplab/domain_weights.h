#pragma once
// Domain weights h: a point of the simplex, one weight per domain (docs/DESIGN.md §1.1.1).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace souplab {

// h as the public API passes it: checked and normalised once, when made, and carrying the names
// of its domains, so whoever receives one needs to check nothing. Cheap to copy (the names are
// shared). A default-made DomainWeights is empty: the weights of a model without domains.
class DomainWeights {
 public:
  DomainWeights() = default;
  // Checks h against the domains (one finite, non-negative weight each, not all zero) and
  // normalises it to sum 1. Error naming the problem otherwise.
  DomainWeights(const std::vector<double>& h, std::vector<std::string> names);

  static DomainWeights uniform(std::vector<std::string> names);
  static DomainWeights one_hot(std::vector<std::string> names, size_t index);
  // The forms of parse_domain_weights below.
  static DomainWeights parse(const std::string& text, std::vector<std::string> names);

  bool empty() const { return h_.empty(); }
  size_t size() const { return h_.size(); }
  double operator[](size_t i) const { return h_[i]; }
  const std::vector<double>& values() const { return h_; }
  const std::vector<std::string>& names() const;
  // "code_c=0.700,code_rust=0.300" (non-zero entries only) for logs and model cards.
  std::string format() const;

  bool operator==(const DomainWeights& o) const { return h_ == o.h_ && names() == o.names(); }
  bool operator!=(const DomainWeights& o) const { return !(*this == o); }

 private:
  DomainWeights(std::vector<double> normalised, std::shared_ptr<const std::vector<std::string>> names)
      : h_(std::move(normalised)), names_(std::move(names)) {}
  std::vector<double> h_;
  std::shared_ptr<const std::vector<std::string>> names_;
};

// The plain-vector forms, for the engine's samplers and configs (TrainConfig::mixture).

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
