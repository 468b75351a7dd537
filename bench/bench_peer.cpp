// souplab's training step against the same model and step in Python PyTorch
// (bench/peer_train_step.py), side by side: the same initial weights, batch and h rows (written
// here to a safetensors file the script reads), the same hyper-parameters and thread count. The
// Python peers run as co-processes, so rounds alternate C++, peer 1, peer 2 ... inside one
// session; medians of the timed steps. The first steps' losses of every side are printed to
// show that they compute the same thing. Dense (--experts 0) or soup (--experts N, one h per
// group of --h-per-step rows as the trainer draws them; the Python soup is S + alpha @ E through
// torch.func.functional_call). Peers: Debian's PyTorch 1.13 (--python, "" for none;
// torch.optim.AdamW default and foreach) and, with --venv-python, the PyPI PyTorch 2.x eager
// (AdamW foreach and fused), torch.compile of the forward and loss, and of the whole step.
// Each side's model FLOP/s (6 x matmul parameters + 12 x L x T x C per token) is given as a
// share of the machine's peak: this build's largest-GEMM rate on the same threads, measured here.
//
//   bench_peer [--quick] [--threads 2] [--reps ROUNDS] [--steps-per-round 3] [--batch 16]
//              [--layers 2] [--width 64] [--experts 0] [--h-per-step 4] [--domains 14]
//              [--python /usr/bin/python3] [--venv-python VENV/bin/python]
//              [--script bench/peer_train_step.py] [--init-only FILE]
#include <torch/torch.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
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

// The best float32 GEMM rate of this libtorch on the current threads (GFLOP/s): square
// products at three sizes, medians of a few repetitions, the largest median.
double gemm_peak_gflops(bool quick) {
  torch::NoGradGuard no_grad;
  double best = 0;
  for (int64_t n : {512, 1024, 2048}) {
    auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
    torch::mm_out(c, a, b);  // warm-up
    std::vector<double> ms;
    for (int r = 0; r < (quick ? 3 : 7); ++r) ms.push_back(bench::time_ms([&] { torch::mm_out(c, a, b); }));
    best = std::max(best, 2.0 * double(n) * n * n / (bench::median(ms) * 1e-3) / 1e9);
  }
  return best;
}

// Model FLOPs of one training step per token (forward + backward = 3 x forward): the matmuls of
// the blocks and the tied output layer, 6 per parameter, plus attention's scores and mixing,
// 12 x L x T x C (as PaLM's appendix counts them, the causal mask not halving it).
double flops_per_token(const ModelConfig& m) {
  const double C = m.n_embd, L = m.n_layer;
  const double matmul_params = 12.0 * L * C * C + double(m.vocab_size) * C;
  return 6.0 * matmul_params + 12.0 * L * m.block_size * C;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const int rounds = args.reps_or(6, 3);
  const int per_round = std::stoi(args.get("steps-per-round", "3"));
  // The first round is warm-up: torch.compile compiles in the first step and its compiled
  // optimizer step once more when AdamW's state exists.
  const int warmup_steps = args.warmup_or(per_round < 3 ? 3 : per_round);
  const int B = std::stoi(args.get("batch", "16"));
  const int n_experts = std::stoi(args.get("experts", "0"));
  const int n_domains = std::stoi(args.get("domains", "14"));
  const int groups = n_experts > 0 ? std::stoi(args.get("h-per-step", "4")) : 1;
  const std::string python = args.get("python", "/usr/bin/python3");
  const std::string script = args.get("script", std::string(SOUPLAB_BENCH_DIR) + "/peer_train_step.py");
  bench::print_machine("bench_peer", args);

  ModelConfig mc;
  mc.n_layer = std::stoi(args.get("layers", std::to_string(mc.n_layer)));
  mc.n_embd = std::stoi(args.get("width", std::to_string(mc.n_embd)));
  const int T = mc.block_size;
  if (groups < 1 || B % groups != 0) {
    std::fprintf(stderr, "bench_peer: --batch %d does not split into --h-per-step %d groups\n", B, groups);
    return 2;
  }
  bench::Stepper cpp(mc, n_experts, n_experts > 0 ? n_domains : 1, bench::Variant::kEngine, /*seed=*/1337);
  auto batch = bench::fixed_batch(B, T);
  auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
  // The h rows: one-hot for a dense model, otherwise seeded points of the simplex (one per group).
  std::vector<std::vector<double>> hs;
  torch::Tensor h_rows;
  if (n_experts == 0) {
    hs = {{1.0}};
  } else {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    h_rows = torch::rand({groups, n_domains}, gen, torch::kFloat64).pow(4);
    h_rows = (h_rows / h_rows.sum(1, true)).to(torch::kFloat32).contiguous();
    for (int g = 0; g < groups; ++g) {
      auto row = h_rows[g].to(torch::kFloat64).contiguous();
      hs.emplace_back(row.data_ptr<double>(), row.data_ptr<double>() + n_domains);
    }
  }
  const double lr = 1e-3, clip = 1.0;

  // Initial weights (S, and for a soup E and the coefficient MLP, split into GPT-2 tensors), the
  // batch, the h rows, the settings.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("souplab-bench-peer-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "init.safetensors").string();
  {
    std::map<std::string, torch::Tensor> bank;
    for (const auto& [name, t] : cpp.bank().named_parameters()) bank[name] = t.detach().contiguous();
    std::vector<TensorView> views;
    std::vector<torch::Tensor> keep;
    std::string decay;
    for (const auto& e : cpp.bank().layout().entries) {
      views.push_back({e.name, DType::kF32, e.shape, bank.at("S").data_ptr<float>() + e.offset});
      if (e.decay) decay += (decay.empty() ? "" : ",") + e.name;
    }
    if (n_experts > 0) {
      for (const auto& e : cpp.bank().layout().entries) {  // E.<name>: (n, *shape)
        keep.push_back(bank.at("E").narrow(1, e.offset, e.numel).contiguous());
        std::vector<int64_t> shape{n_experts};
        shape.insert(shape.end(), e.shape.begin(), e.shape.end());
        views.push_back({"E." + e.name, DType::kF32, shape, keep.back().data_ptr<float>()});
      }
      for (const char* c : {"coef.w1", "coef.b1", "coef.w2", "coef.b2"}) {
        const auto& t = bank.at(c);
        views.push_back({c, DType::kF32, t.sizes().vec(), t.data_ptr<float>()});
      }
      views.push_back({"hs", DType::kF32, {groups, n_domains}, h_rows.data_ptr<float>()});
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
  if (!init_only.empty()) {  // for running the peer by hand: echo "steps 5" | python3 peer_train_step.py --file F
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
  if (!python.empty()) {
    add_peer("Debian PyTorch, eager, AdamW (default)", python, {});
    add_peer("Debian PyTorch, eager, AdamW(foreach)", python, {"--optimizer", "foreach"});
  }
  const std::string venv_python = args.get("venv-python", "");
  if (!venv_python.empty()) {
    add_peer("PyPI PyTorch, eager, AdamW(foreach)", venv_python, {"--optimizer", "foreach"});
    add_peer("PyPI PyTorch, eager, AdamW(fused)", venv_python, {"--optimizer", "fused"});
    add_peer("PyPI PyTorch, torch.compile forward+loss, AdamW(fused)", venv_python,
             {"--optimizer", "fused", "--compile", "forward"});
    add_peer("PyPI PyTorch, torch.compile forward+loss and step, AdamW(fused)", venv_python,
             {"--optimizer", "fused", "--compile", "step"});
  }
  for (auto& p : peers) p.ready = p.proc->receive();  // "ready <version> <threads> <mode>"
  std::filesystem::remove_all(dir);  // every peer has read it

  std::vector<double> t_cpp, l_cpp;
  const std::string cmd = "steps " + std::to_string(per_round);
  for (int r = 0; r < rounds; ++r) {  // interleaved: souplab, peer 1, peer 2, ...
    std::vector<double> a;
    for (int s = 0; s < per_round; ++s) {
      auto ph = cpp.step_groups(x, y, hs, lr, clip);
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
  for (auto& p : peers) p.proc.reset();  // the peers quit before the GEMM runs alone
  const double peak = gemm_peak_gflops(args.quick);

  const double tokens = double(B) * T, flops = flops_per_token(mc) * tokens;
  const double mc_ms = bench::median(t_cpp);
  const std::string kind = n_experts > 0 ? "Soup step (n = " + std::to_string(n_experts) + ", " + std::to_string(groups) +
                                               " h per step, " + std::to_string(n_domains) + " domains)"
                                         : std::string("Dense step");
  std::printf("### %s: souplab (C++, libtorch %d.%d) vs PyTorch from Python (%s, batch %d x %d, %d "
              "threads; %d rounds x %d steps interleaved, first %d steps warm-up)\n\n",
              kind.c_str(), TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, bench::describe(mc).c_str(), B, T, args.threads,
              rounds, per_round, warmup_steps);
  Table t{{"implementation", "PyTorch", "step ms (median)", "tokens/s", "souplab / this (tokens/s)",
           "model GFLOP/s", "share of peak"}};
  auto share = [&](double ms) { return fmt("%.0f %%", flops / (ms * 1e-3) / 1e9 / peak * 100); };
  auto gflops = [&](double ms) { return fmt("%.1f", flops / (ms * 1e-3) / 1e9); };
  const std::string own = "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
  t.rows.push_back({std::string("souplab ") + (n_experts > 0 ? "soup" : "dense") + " step (engine)", own,
                    fmt("%.1f", mc_ms), fmt("%.0f", tokens / mc_ms * 1e3), "1.00x", gflops(mc_ms), share(mc_ms)});
  std::string best_label;
  double best_ms = 0;
  for (const auto& p : peers) {
    const double ms = bench::median(p.times);
    std::istringstream is(p.ready);
    std::string word, version, nthreads, mode;
    is >> word >> version >> nthreads >> mode;
    t.rows.push_back({p.label, version + " (" + mode + ")", fmt("%.1f", ms), fmt("%.0f", tokens / ms * 1e3),
                      fmt("%.2fx", ms / mc_ms), gflops(ms), share(ms)});
    if (best_ms == 0 || ms < best_ms) best_ms = ms, best_label = p.label;
  }
  t.print();
  std::printf("Peak: %.1f GFLOP/s (this libtorch's float32 GEMM, 512-2048 square, %d threads); a step is %.2f "
              "GFLOP of model arithmetic (%.0f k per token).\n\n",
              peak, args.threads, flops / 1e9, flops_per_token(mc) / 1e3);
  std::printf("Same computation: loss after steps 1, 2, %d — souplab", int(l_cpp.size()));
  for (double v : {l_cpp[0], l_cpp[1], l_cpp.back()}) std::printf(" %.5f", v);
  for (const auto& p : peers) {
    std::printf("; %s", p.label.c_str());
    for (double v : {p.losses[0], p.losses[1], p.losses.back()}) std::printf(" %.5f", v);
  }
  std::printf(".\n\n");
  // One line for bench/run_all.sh's summary across sizes.
  std::printf("<!-- summary %s %s souplab_tok_s=%.0f best_python_tok_s=%.0f best_python=\"%s\" peak_gflops=%.1f "
              "souplab_share=%.3f -->\n",
              bench::describe(mc).c_str(), n_experts > 0 ? "soup" : "dense", tokens / mc_ms * 1e3,
              best_ms > 0 ? tokens / best_ms * 1e3 : 0.0, best_label.c_str(), peak,
              flops / (mc_ms * 1e-3) / 1e9 / peak);
  return 0;
}
