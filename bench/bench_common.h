#pragma once
// Shared helpers of the benchmarks: arguments, timing, medians, Markdown tables, machine facts
// and the process's peak RSS. Header-only; every bench is one translation unit.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "souplab/config.h"

namespace bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

template <class F>
double time_ms(F&& f) {
  const auto t0 = Clock::now();
  f();
  return ms_since(t0);
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// --quick, --threads N, --reps N, --warmup N, plus free "--key value" pairs.
struct Args {
  bool quick = false;
  int threads = 2;
  int reps = 0;    // 0: the bench's own default (smaller with --quick)
  int warmup = -1; // -1: the bench's own default
  std::vector<std::pair<std::string, std::string>> extra;

  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "%s needs a value\n", a.c_str());
          std::exit(2);
        }
        return argv[++i];
      };
      if (a == "--quick") quick = true;
      else if (a == "--threads") threads = std::stoi(next());
      else if (a == "--reps") reps = std::stoi(next());
      else if (a == "--warmup") warmup = std::stoi(next());
      else if (a.rfind("--", 0) == 0) extra.emplace_back(a.substr(2), next());
      else {
        std::fprintf(stderr, "unknown argument %s\n", a.c_str());
        std::exit(2);
      }
    }
  }
  std::string get(const std::string& key, const std::string& def) const {
    for (const auto& [k, v] : extra)
      if (k == key) return v;
    return def;
  }
  int reps_or(int full, int quick_reps) const { return reps > 0 ? reps : (quick ? quick_reps : full); }
  int warmup_or(int w) const { return warmup >= 0 ? warmup : w; }
};

// Intra-op threads for this (the calling) thread: OpenMP's setting is per thread.
inline void set_threads(int n) {
  at::set_num_threads(n);
  at::set_num_interop_threads(1);
}

// The non-empty pieces of `s` between the separators.
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "VmHWM:   123456 kB" -> bytes.
inline int64_t proc_status_bytes(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream is(line.substr(key.size() + 1));
      int64_t kb = 0;
      is >> kb;
      return kb * 1024;
    }
  }
  return -1;
}

inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "?";
}

inline std::string load_average() {
  std::string s = read_file("/proc/loadavg");
  std::istringstream is(s);
  std::string a, b, c;
  is >> a >> b >> c;
  return a + " " + b + " " + c;
}

inline void print_machine(const char* bench_name, const Args& args) {
  std::printf("<!-- %s: %s; libtorch %d.%d.%d; threads %d (at::get_num_threads %d); load %s -->\n",
              bench_name, cpu_model().c_str(), TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
              TORCH_VERSION_PATCH, args.threads, at::get_num_threads(), load_average().c_str());
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

inline std::string mib(double bytes) { return fmt("%.1f", bytes / (1024.0 * 1024.0)); }

// A Markdown table printed at once (so stdout stays tidy while work happens).
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string markdown() const {
    auto line = [](const std::vector<std::string>& cells) {
      std::string s = "|";
      for (const auto& c : cells) s += " " + c + " |";
      return s + "\n";
    };
    std::string out = line(header);
    out += line(std::vector<std::string>(header.size(), "---"));
    for (const auto& r : rows) out += line(r);
    return out + "\n";
  }
  void print() const {
    std::printf("%s", markdown().c_str());
    std::fflush(stdout);
  }
};

// A fixed batch (B, T+1) of byte tokens from a seeded generator; x = [:, :T], y = [:, 1:].
inline torch::Tensor fixed_batch(int B, int T, uint64_t seed = 11) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randint(0, 256, {B, T + 1}, gen, torch::kInt64);
}

inline std::string describe(const souplab::ModelConfig& m) {
  return "L" + std::to_string(m.n_layer) + " C" + std::to_string(m.n_embd) + " H" +
         std::to_string(m.n_head) + " T" + std::to_string(m.block_size);
}

}  // namespace bench
