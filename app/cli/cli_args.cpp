#include "app/cli/cli_args.h"

#include <cstdio>
#include <cstdlib>

#include "souplab/error.h"

namespace souplab::cli {

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

bool Args::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help_text().c_str(), stdout);
      return false;
    }
    if (a.rfind("--", 0) != 0 || a == "--") {
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
    if (!spec) throw Error(command_ + ": unknown flag --" + name + " (see " + command_ + " --help)");
    if (spec->value_name.empty()) {
      if (inline_value) throw Error(command_ + ": --" + name + " takes no value");
      values_[name] = "1";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) throw Error(command_ + ": --" + name + " needs a value (" + spec->value_name + ")");
      value = argv[++i];
    }
    values_[name] = value;
  }
  return true;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') throw Error(command_ + ": --" + name + " expects an integer, got \"" + v + "\"");
  return x;
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') throw Error(command_ + ": --" + name + " expects a number, got \"" + v + "\"");
  return x;
}

std::string Args::positional_at(size_t i, const std::string& what) const {
  if (i >= positional_.size()) throw Error(command_ + ": missing " + what + " (usage: " + usage_ + ")");
  return positional_[i];
}

std::string Args::help_text() const {
  std::string out = "usage: " + usage_ + "\n\n" + summary_ + "\n";
  if (!specs_.empty()) out += "\nflags:\n";
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    if (left.size() < 30) left.resize(30, ' ');
    else left += "\n" + std::string(30, ' ');
    out += left + s.help;
    if (!s.default_text.empty()) out += " (default: " + s.default_text + ")";
    out += "\n";
  }
  out += "  --help                      show this help\n";
  return out;
}

}  // namespace souplab::cli
