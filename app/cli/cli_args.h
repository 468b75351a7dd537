#pragma once
// A small declarative flag parser: each command declares its flags with help text, so --help
// documents every flag and an unknown or malformed flag is an error naming it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace souplab::cli {

struct FlagSpec {
  std::string name;        // without dashes
  std::string value_name;  // empty for a boolean switch
  std::string help;
  std::string default_text;
};

class Args {
 public:
  Args(std::string command, std::string usage, std::string summary);
  Args& flag(const std::string& name, const std::string& value_name, const std::string& help,
             const std::string& default_text = "");
  Args& option(const std::string& name, const std::string& help);  // boolean switch

  // Parses argv[first..]; throws souplab::Error for unknown flags or missing values.
  // Returns false when --help was given (help already printed to stdout).
  bool parse(int argc, char** argv, int first);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = "") const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string positional_at(size_t i, const std::string& what) const;  // Error if missing

  std::string help_text() const;

 private:
  std::string command_, usage_, summary_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace souplab::cli
