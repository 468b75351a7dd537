// souplab's dense training step against the same model and step in Python PyTorch
// (bench/peer_dense_step.py under /usr/bin/python3, Debian's python3-torch), side by side:
// the same initial weights and batch (written here to a safetensors file the script reads),
// the same hyper-parameters and thread count. The Python peers run as co-processes, so rounds
// alternate C++, Python, Python(foreach) ... inside one session; medians of the timed steps.
// The first steps' losses of both sides are printed to show that they compute the same thing.
//
//   bench_peer [--quick] [--threads 2] [--reps ROUNDS] [--steps-per-round 3] [--batch 16]
//              [--python /usr/bin/python3] [--script bench/peer_dense_step.py] [--init-only FILE]
#include <torch/torch.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "bench_common.h"
#include "engine/core/safetensors.h"
#include "step_common.h"

using namespace souplab;
using bench::fmt;
using bench::Table;

namespace {

class CoProcess {
 public:
  explicit CoProcess(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]); close(in[1]); close(out[0]); close(out[1]);
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      std::perror(a[0]);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
  }
  ~CoProcess() {
    if (to_) {
      std::fputs("quit\n", to_);
      std::fclose(to_);
    }
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  void send(const std::string& line) {
    std::fputs((line + "\n").c_str(), to_);
    std::fflush(to_);
  }
  std::string receive() {
    std::string s;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, from_)) {
      s += buf;
      if (!s.empty() && s.back() == '\n') break;
    }
    if (s.empty()) throw std::runtime_error("the Python peer exited (see its stderr above)");
    return s;
  }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// "ms t1 .. tN loss l1 .. lN"
void parse_reply(const std::string& line, std::vector<double>* ms, std::vector<double>* loss) {
  std::istringstream is(line);
  std::string w;
  std::vector<double>* cur = nullptr;
  while (is >> w) {
    if (w == "ms") cur = ms;
    else if (w == "loss") cur = loss;
    else if (cur) cur->push_back(std::stod(w));
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const int rounds = args.reps_or(6, 3);
  const int per_round = std::stoi(args.get("steps-per-round", "3"));
  const int warmup_steps = args.warmup_or(2);
  const int B = std::stoi(args.get("batch", "16"));
  const std::string python = args.get("python", "/usr/bin/python3");
  const std::string script = args.get("script", std::string(SOUPLAB_BENCH_DIR) + "/peer_dense_step.py");
  bench::print_machine("bench_peer", args);

  const ModelConfig mc;
  const int T = mc.block_size;
  const int k = 1;
  bench::Stepper cpp(mc, 0, k, bench::Variant::kEngine, /*seed=*/1337);
  auto batch = bench::fixed_batch(B, T);
  auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
  const std::vector<double> h{1.0};
  const double lr = 1e-3, clip = 1.0;

  // Initial weights (the dense bank's S, split into GPT-2 tensors), the batch, the settings.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("souplab-bench-peer-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "init.safetensors").string();
  {
    auto S = cpp.bank().named_parameters().at(0).second.detach().contiguous();
    std::vector<TensorView> views;
    std::string decay;
    for (const auto& e : cpp.bank().layout().entries) {
      views.push_back({e.name, DType::kF32, e.shape, S.data_ptr<float>() + e.offset});
      if (e.decay) decay += (decay.empty() ? "" : ",") + e.name;
    }
    views.push_back({"batch", DType::kI64, {B, T + 1}, batch.data_ptr<int64_t>()});
    AdamWOptions o;
    SafetensorsMetadata meta{{"n_layer", std::to_string(mc.n_layer)},
                             {"n_head", std::to_string(mc.n_head)},
                             {"n_embd", std::to_string(mc.n_embd)},
                             {"block_size", std::to_string(mc.block_size)},
                             {"lr", fmt("%.17g", lr)},
                             {"grad_clip", fmt("%.17g", clip)},
                             {"beta1", fmt("%.17g", o.beta1)},
                             {"beta2", fmt("%.17g", o.beta2)},
                             {"eps", fmt("%.17g", o.eps)},
                             {"weight_decay", fmt("%.17g", o.weight_decay)},
                             {"decay", decay}};
    write_safetensors(file, views, meta);
  }

  const std::string init_only = args.get("init-only", "");
  if (!init_only.empty()) {  // for running the peer by hand: echo "steps 5" | python3 peer_dense_step.py --file F
    std::filesystem::copy_file(file, init_only, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::remove_all(dir);
    std::printf("wrote %s\n", init_only.c_str());
    return 0;
  }
  const std::string threads = std::to_string(args.threads);
  CoProcess py({python, script, "--file", file, "--threads", threads});
  CoProcess pyf({python, script, "--file", file, "--threads", threads, "--foreach"});
  const std::string ready = py.receive();
  pyf.receive();
  std::filesystem::remove_all(dir);  // both peers have read it

  std::vector<double> t_cpp, t_py, t_pyf, l_cpp, l_py, l_pyf;
  std::vector<double> r_cpp, r_py, r_pyf;  // per-round medians
  const std::string cmd = "steps " + std::to_string(per_round);
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> a, b, c;
    for (int s = 0; s < per_round; ++s) {
      auto ph = cpp.step(x, y, h, lr, clip);
      a.push_back(ph.total);
      l_cpp.push_back(ph.loss);
    }
    py.send(cmd);
    parse_reply(py.receive(), &b, &l_py);
    pyf.send(cmd);
    parse_reply(pyf.receive(), &c, &l_pyf);
    // The first warmup_steps of each side are warm-up.
    for (size_t i = 0; i < a.size(); ++i) {
      const size_t global = size_t(r) * per_round + i;
      if (global < size_t(warmup_steps)) continue;
      t_cpp.push_back(a[i]);
      t_py.push_back(b[i]);
      t_pyf.push_back(c[i]);
    }
  }
  const double tokens = double(B) * T;
  const double mc_ms = bench::median(t_cpp), mp_ms = bench::median(t_py), mf_ms = bench::median(t_pyf);
  std::printf("### Dense step: souplab (C++) vs PyTorch from Python (%s, batch %d x %d, %d threads; "
              "%d rounds x %d steps interleaved, first %d steps warm-up; Python: %s)\n\n",
              bench::describe(mc).c_str(), B, T, args.threads, rounds, per_round, warmup_steps,
              ready.substr(6, ready.size() - 7).c_str());
  Table t{{"implementation", "step ms (median)", "tokens/s", "souplab / this (tokens/s)"}};
  t.rows.push_back({"souplab dense step (engine)", fmt("%.0f", mc_ms), fmt("%.0f", tokens / mc_ms * 1e3), "1.00x"});
  t.rows.push_back({"PyTorch, torch.optim.AdamW (default)", fmt("%.0f", mp_ms),
                    fmt("%.0f", tokens / mp_ms * 1e3), fmt("%.2fx", mp_ms / mc_ms)});
  t.rows.push_back({"PyTorch, torch.optim.AdamW(foreach=True)", fmt("%.0f", mf_ms),
                    fmt("%.0f", tokens / mf_ms * 1e3), fmt("%.2fx", mf_ms / mc_ms)});
  t.print();
  std::printf("Same computation: loss after steps 1, 2, %d — souplab", int(l_cpp.size()));
  for (double v : {l_cpp[0], l_cpp[1], l_cpp.back()}) std::printf(" %.5f", v);
  std::printf("; PyTorch");
  for (double v : {l_py[0], l_py[1], l_py.back()}) std::printf(" %.5f", v);
  std::printf("; PyTorch foreach");
  for (double v : {l_pyf[0], l_pyf[1], l_pyf.back()}) std::printf(" %.5f", v);
  std::printf(".\n\n");
  return 0;
}
