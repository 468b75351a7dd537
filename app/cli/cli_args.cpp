#include "app/cli/cli_args.h"

#include <cstdio>
#include <cstdlib>

namespace souplab::cli {

const char* const kExitStatusHelp =
    "exit status:\n"
    "  0    done\n"
    "  1    error: a file that cannot be read or written, a model or run that fails\n"
    "  2    usage error: an unknown, repeated or malformed flag, a missing or extra argument\n"
    "  130  interrupted by Ctrl-C (SIGINT); train and resume first save a checkpoint\n";

Args::Args(std::string command, std::string usage, std::string summary)
    : command_(std::move(command)), usage_(std::move(usage)), summary_(std::move(summary)) {}

Args& Args::flag(const std::string& name, const std::string& value_name, const std::string& help,
                 const std::string& default_text) {
  specs_.push_back({name, value_name, help, default_text});
  return *this;
}

Args& Args::option(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, ""});
  return *this;
}

Args& Args::repeatable() {
  if (!specs_.empty()) specs_.back().repeatable = true;
  return *this;
}

void Args::usage_error(const std::string& message) const {
  throw UsageError(command_ + ": " + message + " (see souplab-cli " + command_ + " --help)");
}

bool Args::parse(int argc, char** argv, int first) {
  bool options_ended = false;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (options_ended) {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {  // the end of the flags: what follows is positional
      options_ended = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      std::fputs(help_text().c_str(), stdout);
      return false;
    }
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs_)
      if (s.name == name) spec = &s;
    if (!spec) usage_error("unknown flag --" + name);
    if (values_.count(name) && !spec->repeatable)
      usage_error("--" + name + " given twice" + (spec->value_name.empty() ? "" : " (it takes one value)"));
    if (spec->value_name.empty()) {
      if (inline_value) usage_error("--" + name + " takes no value");
      values_[name].push_back("1");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) usage_error("--" + name + " needs a value (" + spec->value_name + ")");
      value = argv[++i];
    }
    values_[name].push_back(value);
  }
  return true;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::get_all(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(name);
  return it == values_.end() ? kNone : it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') usage_error("--" + name + " expects an integer, got \"" + v + "\"");
  return x;
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') usage_error("--" + name + " expects a number, got \"" + v + "\"");
  return x;
}

std::string Args::required(const std::string& name) const {
  std::string value_name;
  for (const auto& s : specs_)
    if (s.name == name) value_name = s.value_name;
  if (!has(name) || get(name).empty()) usage_error("--" + name + (value_name.empty() ? "" : " " + value_name) + " is required");
  return get(name);
}

std::string Args::positional_at(size_t i, const std::string& what) const {
  if (i >= positional_.size()) usage_error("missing " + what + " (usage: " + usage_ + ")");
  return positional_[i];
}

void Args::no_more_positional(size_t n) const {
  if (positional_.size() > n) usage_error("unexpected argument \"" + positional_[n] + "\"");
}

std::string Args::help_text() const {
  std::string out = "Usage: " + usage_ + "\n\n" + summary_ + "\n";
  if (!specs_.empty()) out += "\nflags:\n";
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name) + (s.repeatable ? "..." : "");
    if (left.size() < 30) left.resize(30, ' ');
    else left += "\n" + std::string(30, ' ');
    out += left + s.help;
    if (s.repeatable) out += "; may be given several times";
    if (!s.default_text.empty()) out += " (default: " + s.default_text + ")";
    out += "\n";
  }
  out += "  --help                      show this help\n";
  out += "  --                          end of the flags: the arguments after it are positional\n";
  out += "\n";
  out += kExitStatusHelp;
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (size_t p = 0; p <= text.size();) {
    size_t q = text.find(',', p);
    if (q == std::string::npos) q = text.size();
    if (q > p) out.push_back(text.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

}  // namespace souplab::cli
