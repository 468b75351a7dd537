#pragma once
// A small declarative flag parser: each command declares its flags with help text, so --help
// documents every flag and an unknown or malformed flag is an error naming it.
//
// Conventions, the same for every command:
//  - a flag given twice is a usage error, except one declared repeatable (shown as `...` in
//    the usage line and the help): each occurrence adds a value (get_all);
//  - `--` ends the flags: every argument after it is positional, even if it starts with "--";
//  - usage errors (unknown, repeated or malformed flags, missing or extra arguments, an
//    unknown choice) throw UsageError, which main turns into exit status 2; every other
//    failure is exit status 1; Ctrl-C is 130 (kExitStatusHelp says so in every --help).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "souplab/error.h"

namespace souplab::cli {

// A command line that does not say what to do; main exits 2 with it.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what) {}
};

// The exit statuses, as every --help states them.
extern const char* const kExitStatusHelp;

struct FlagSpec {
  std::string name;        // without dashes
  std::string value_name;  // empty for a boolean switch
  std::string help;
  std::string default_text;
  bool repeatable = false;  // each occurrence adds a value
};

class Args {
 public:
  Args(std::string command, std::string usage, std::string summary);
  Args& flag(const std::string& name, const std::string& value_name, const std::string& help,
             const std::string& default_text = "");
  Args& option(const std::string& name, const std::string& help);  // boolean switch
  Args& repeatable();  // the flag declared last may be given several times

  // Parses argv[first..]; throws UsageError for unknown or repeated flags and missing values.
  // Returns false when --help was given (help already printed to stdout).
  bool parse(int argc, char** argv, int first);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = "") const;  // the last value
  const std::vector<std::string>& get_all(const std::string& name) const;  // every value, in order
  int64_t get_int(const std::string& name, int64_t fallback) const;      // UsageError if malformed
  double get_double(const std::string& name, double fallback) const;     // UsageError if malformed
  std::string required(const std::string& name) const;                   // UsageError if absent
  const std::vector<std::string>& positional() const { return positional_; }
  std::string positional_at(size_t i, const std::string& what) const;  // UsageError if missing
  void no_more_positional(size_t n) const;  // UsageError if more than n positional arguments

  // Throws UsageError "<command>: <message> (see souplab-cli <command> --help)".
  [[noreturn]] void usage_error(const std::string& message) const;

  std::string help_text() const;

 private:
  std::string command_, usage_, summary_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// "a,b,,c" -> {"a", "b", "c"}: a flag's comma-separated list, empty items dropped.
std::vector<std::string> split_list(const std::string& text);

}  // namespace souplab::cli
