// souplab's dense training step against the same model and step in Python PyTorch
// (bench/peer_dense_step.py), side by side: the same initial weights and batch (written here to
// a safetensors file the script reads), the same hyper-parameters and thread count. The Python
// peers run as co-processes, so rounds alternate C++, peer 1, peer 2 ... inside one session;
// medians of the timed steps. The first steps' losses of every side are printed to show that
// they compute the same thing. Peers: Debian's PyTorch 1.13 (/usr/bin/python3; torch.optim.AdamW
// default and foreach) and, with --venv-python, the PyPI PyTorch 2.11 eager and torch.compile.
//
//   bench_peer [--quick] [--threads 2] [--reps ROUNDS] [--steps-per-round 3] [--batch 16]
//              [--python /usr/bin/python3] [--venv-python VENV/bin/python]
//              [--script bench/peer_dense_step.py] [--init-only FILE]
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
  struct Peer {
    std::string label;
    std::unique_ptr<CoProcess> proc;
    std::string ready;
    std::vector<double> times, losses;
  };
  std::vector<Peer> peers;
  auto add_peer = [&](const std::string& label, const std::string& py, std::vector<std::string> extra) {
    std::vector<std::string> argv{py, script, "--file", file, "--threads", threads};
    argv.insert(argv.end(), extra.begin(), extra.end());
    peers.push_back({label, std::make_unique<CoProcess>(argv), "", {}, {}});
  };
  add_peer("PyTorch from Python, torch.optim.AdamW (default)", python, {});
  add_peer("PyTorch from Python, torch.optim.AdamW(foreach=True)", python, {"--foreach"});
  const std::string venv_python = args.get("venv-python", "");
  if (!venv_python.empty()) {
    add_peer("PyPI PyTorch, eager", venv_python, {});
    add_peer("PyPI PyTorch, torch.compile", venv_python, {"--compile"});
  }
  for (auto& p : peers) p.ready = p.proc->receive();  // "ready <version> <threads> <mode>"
  std::filesystem::remove_all(dir);  // every peer has read it

  std::vector<double> t_cpp, l_cpp;
  const std::string cmd = "steps " + std::to_string(per_round);
  for (int r = 0; r < rounds; ++r) {  // interleaved: souplab, peer 1, peer 2, ...
    std::vector<double> a;
    for (int s = 0; s < per_round; ++s) {
      auto ph = cpp.step(x, y, h, lr, clip);
      a.push_back(ph.total);
      l_cpp.push_back(ph.loss);
    }
    std::vector<std::vector<double>> b(peers.size());
    for (size_t i = 0; i < peers.size(); ++i) {
      peers[i].proc->send(cmd);
      parse_reply(peers[i].proc->receive(), &b[i], &peers[i].losses);
    }
    // The first warmup_steps of each side are warm-up (torch.compile compiles in its first).
    for (size_t s = 0; s < a.size(); ++s) {
      if (size_t(r) * per_round + s < size_t(warmup_steps)) continue;
      t_cpp.push_back(a[s]);
      for (size_t i = 0; i < peers.size(); ++i) peers[i].times.push_back(b[i][s]);
    }
  }
  const double tokens = double(B) * T;
  const double mc_ms = bench::median(t_cpp);
  std::printf("### Dense step: souplab (C++, libtorch %d.%d) vs PyTorch from Python (%s, batch %d x %d, %d "
              "threads; %d rounds x %d steps interleaved, first %d steps warm-up)\n\n",
              TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, bench::describe(mc).c_str(), B, T, args.threads, rounds,
              per_round, warmup_steps);
  Table t{{"implementation", "PyTorch", "step ms (median)", "tokens/s", "souplab / this (tokens/s)"}};
  t.rows.push_back({"souplab dense step (engine)", "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
                    std::to_string(TORCH_VERSION_MINOR), fmt("%.0f", mc_ms), fmt("%.0f", tokens / mc_ms * 1e3), "1.00x"});
  for (const auto& p : peers) {
    const double ms = bench::median(p.times);
    std::istringstream is(p.ready);
    std::string word, version, nthreads, mode;
    is >> word >> version >> nthreads >> mode;
    t.rows.push_back({p.label, version + " (" + mode + ")", fmt("%.0f", ms), fmt("%.0f", tokens / ms * 1e3),
                      fmt("%.2fx", ms / mc_ms)});
  }
  t.print();
  std::printf("Same computation: loss after steps 1, 2, %d — souplab", int(l_cpp.size()));
  for (double v : {l_cpp[0], l_cpp[1], l_cpp.back()}) std::printf(" %.5f", v);
  for (const auto& p : peers) {
    std::printf("; %s", p.label.c_str());
    for (double v : {p.losses[0], p.losses[1], p.losses.back()}) std::printf(" %.5f", v);
  }
  std::printf(".\n\n");
  return 0;
}
