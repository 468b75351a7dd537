#include "souplab/domain_weights.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "souplab/error.h"

namespace souplab {
namespace {

double parse_number(const std::string& text, const std::string& whole) {
  const char* begin = text.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  while (end && *end == ' ') ++end;
  if (end == begin || *end != '\0')
    throw Error("domain weights \"" + whole + "\": \"" + text + "\" is not a number");
  return v;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

size_t find_domain(const std::string& name, const std::vector<std::string>& names,
                   const std::string& whole) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return i;
  // An index is accepted where a name is expected.
  char* end = nullptr;
  long idx = std::strtol(name.c_str(), &end, 10);
  if (!name.empty() && end && *end == '\0' && idx >= 0 && size_t(idx) < names.size())
    return size_t(idx);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw Error("domain weights \"" + whole + "\": no domain \"" + name + "\" (domains: " +
              known + ")");
}

}  // namespace

std::vector<double> normalize_domain_weights(const std::vector<double>& h, size_t k) {
  if (h.size() != k)
    throw Error("domain weights: expected " + std::to_string(k) + " values (one per domain), got " +
                std::to_string(h.size()));
  double sum = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    if (!std::isfinite(h[i]))
      throw Error("domain weights: entry " + std::to_string(i) + " is not finite");
    if (h[i] < 0)
      throw Error("domain weights: entry " + std::to_string(i) + " is negative (" +
                  std::to_string(h[i]) + ")");
    sum += h[i];
  }
  if (!(sum > 0)) throw Error("domain weights: all entries are zero; at least one must be > 0");
  if (!std::isfinite(sum)) throw Error("domain weights: the sum overflows");
  std::vector<double> out(h);
  for (double& v : out) v /= sum;
  return out;
}

std::vector<double> uniform_domain_weights(size_t k) {
  if (k == 0) throw Error("domain weights: there are no domains");
  return std::vector<double>(k, 1.0 / double(k));
}

std::vector<double> one_hot_domain_weights(size_t k, size_t index) {
  if (index >= k)
    throw Error("domain weights: one-hot index " + std::to_string(index) + " out of range 0.." +
                std::to_string(k - 1));
  std::vector<double> h(k, 0.0);
  h[index] = 1.0;
  return h;
}

std::vector<double> parse_domain_weights(const std::string& text,
                                         const std::vector<std::string>& names) {
  const std::string t = trim(text);
  const size_t k = names.size();
  if (t == "uniform") return uniform_domain_weights(k);
  if (t.rfind("onehot:", 0) == 0) return one_hot_domain_weights(k, find_domain(trim(t.substr(7)), names, text));
  std::vector<std::string> parts;
  std::stringstream ss(t);
  for (std::string part; std::getline(ss, part, ',');) parts.push_back(trim(part));
  if (t.empty() || parts.empty()) throw Error("domain weights: empty");
  std::vector<double> h;
  if (parts[0].find('=') != std::string::npos) {
    h.assign(k, 0.0);
    std::vector<bool> given(k, false);
    for (const auto& part : parts) {
      size_t eq = part.find('=');
      if (eq == std::string::npos)
        throw Error("domain weights \"" + text + "\": \"" + part + "\" is not NAME=VALUE");
      size_t i = find_domain(trim(part.substr(0, eq)), names, text);
      if (given[i]) throw Error("domain weights \"" + text + "\": domain " + names[i] + " given twice");
      given[i] = true;
      h[i] = parse_number(trim(part.substr(eq + 1)), text);
    }
  } else {
    for (const auto& part : parts) h.push_back(parse_number(part, text));
  }
  return normalize_domain_weights(h, k);
}

std::string format_domain_weights(const std::vector<double>& h,
                                  const std::vector<std::string>& names) {
  std::string out;
  char buf[64];
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] == 0) continue;
    std::snprintf(buf, sizeof buf, "%.3f", h[i]);
    out += (out.empty() ? "" : ",") + (i < names.size() ? names[i] : std::to_string(i)) + "=" + buf;
  }
  return out;
}

}  // namespace souplab

namespace souplab {
namespace {

const std::vector<std::string>& no_names() {
  static const std::vector<std::string> empty;
  return empty;
}

}  // namespace

DomainWeights::DomainWeights(const std::vector<double>& h, std::vector<std::string> names)
    : h_(normalize_domain_weights(h, names.size())),
      names_(std::make_shared<const std::vector<std::string>>(std::move(names))) {}

DomainWeights DomainWeights::uniform(std::vector<std::string> names) {
  auto h = uniform_domain_weights(names.size());
  return DomainWeights(std::move(h), std::make_shared<const std::vector<std::string>>(std::move(names)));
}

DomainWeights DomainWeights::one_hot(std::vector<std::string> names, size_t index) {
  auto h = one_hot_domain_weights(names.size(), index);
  return DomainWeights(std::move(h), std::make_shared<const std::vector<std::string>>(std::move(names)));
}

DomainWeights DomainWeights::parse(const std::string& text, std::vector<std::string> names) {
  auto h = parse_domain_weights(text, names);  // normalised
  return DomainWeights(std::move(h), std::make_shared<const std::vector<std::string>>(std::move(names)));
}

const std::vector<std::string>& DomainWeights::names() const { return names_ ? *names_ : no_names(); }

std::string DomainWeights::format() const { return format_domain_weights(h_, names()); }

}  // namespace souplab
