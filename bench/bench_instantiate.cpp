// Instantiation speed (docs/DESIGN.md §4.1): theta(h) = S + alpha(h)^T E against a memcpy of the same
// bytes ((n+1)*P floats of the bank plus the coefficient MLP into a preallocated buffer), and
// the full slider path: instantiate + per-domain validation losses on a small fixed set.
//
// Columns "engine" time exactly what Model::instantiate / Specialist::evaluate run
// (SoupBank::theta under NoGradGuard; mean_window_loss per domain). Columns "candidate" time
// a proposed replacement written here (not in the engine), so the gain can be judged.
//
//   bench_instantiate [--quick] [--threads 2] [--reps N] [--domains 14] [--windows 2]
//                     [--layers N --width N --heads N]   (the slider path's model; default: the default's)
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench_common.h"
#include "souplab/config.h"
#include "souplab/param_layout.h"
#include "engine/nn/gpt.h"
#include "engine/nn/soup.h"
#include "souplab/validation_set.h"
#include "engine/nn/validation.h"

using namespace souplab;
using bench::Table;
using bench::fmt;

namespace {

torch::Tensor param(const SoupBank& bank, const std::string& name) {
  for (const auto& [n, t] : bank.named_parameters())
    if (n == name) return t;
  throw std::runtime_error("no parameter " + name);
}

// Candidate instantiation: one pass over P in cache-sized blocks, both cores on disjoint
// blocks; each output block is written once and every bank float is read once.
torch::Tensor instantiate_blocked(const torch::Tensor& S, const torch::Tensor& E,
                                  const torch::Tensor& alpha) {
  const int64_t P = S.numel(), n = E.size(0);
  auto out = torch::empty({P}, S.options().requires_grad(false));
  auto a = alpha.detach().to(torch::kCPU).contiguous();
  const float* av = a.data_ptr<float>();
  const float* s = S.data_ptr<float>();
  const float* e = E.data_ptr<float>();
  float* o = out.data_ptr<float>();
  constexpr int64_t kBlock = 4096;  // 16 KiB of output per block: stays in L1/L2
  const int64_t nblocks = (P + kBlock - 1) / kBlock;
  at::parallel_for(0, nblocks, 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = b * kBlock, len = std::min(kBlock, P - lo);
      float* ob = o + lo;
      const float* sb = s + lo;
      int64_t j = 0;
      if (n >= 2) {  // first two experts fused with the copy of S
        const float a0 = av[0], a1 = av[1];
        const float* e0 = e + lo;
        const float* e1 = e + P + lo;
        for (int64_t i = 0; i < len; ++i) ob[i] = sb[i] + a0 * e0[i] + a1 * e1[i];
        j = 2;
      } else {
        for (int64_t i = 0; i < len; ++i) ob[i] = sb[i];
      }
      for (; j + 3 < n; j += 4) {
        const float a0 = av[j], a1 = av[j + 1], a2 = av[j + 2], a3 = av[j + 3];
        const float* e0 = e + j * P + lo;
        const float* e1 = e0 + P;
        const float* e2 = e1 + P;
        const float* e3 = e2 + P;
        for (int64_t i = 0; i < len; ++i) ob[i] += a0 * e0[i] + a1 * e1[i] + a2 * e2[i] + a3 * e3[i];
      }
      for (; j < n; ++j) {
        const float aj = av[j];
        const float* ej = e + j * P + lo;
        for (int64_t i = 0; i < len; ++i) ob[i] += aj * ej[i];
      }
    }
  });
  return out;
}

struct Case {
  std::string name;
  ModelConfig model;
  int n_experts;
};

// Validation windows (W, T+1) per domain: bytes of the real corpus when it is there (the cost
// does not depend on the text), else a fixed pseudo-random stream.
std::vector<DomainWindows> make_windows(int k, int W, int T) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  const fs::path corpus = fs::path(SOUPLAB_BENCH_DIR) / "../../shared/corpus";
  std::error_code ec;
  if (fs::is_directory(corpus, ec))
    for (const auto& d : fs::directory_iterator(corpus, ec))
      if (fs::exists(d.path() / "data.txt")) dirs.push_back(d.path().string());
  std::sort(dirs.begin(), dirs.end());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  std::vector<DomainWindows> out;
  for (int d = 0; d < k; ++d) {
    torch::Tensor t;
    if (d < int(dirs.size())) {
      std::vector<uint8_t> bytes(size_t(W) * (T + 1));
      std::ifstream f(dirs[d] + "/data.txt", std::ios::binary);
      f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
      t = torch::from_blob(bytes.data(), {W, T + 1}, torch::kUInt8).to(torch::kInt64);
      out.push_back({std::filesystem::path(dirs[d]).filename().string(), t});
    } else {
      t = torch::randint(0, 256, {W, T + 1}, gen, torch::kInt64);
      out.push_back({"domain" + std::to_string(d), t});
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  torch::manual_seed(0);
  const int reps = args.reps_or(15, 5), warmup = args.warmup_or(2);
  const int k = std::stoi(args.get("domains", "14"));
  const int windows = std::stoi(args.get("windows", "2"));
  bench::print_machine("bench_instantiate", args);

  std::vector<Case> cases;
  {
    Case d{"default (demo)", ModelConfig{}, 8};
    cases.push_back(d);
    Case b{"n16 wide", ModelConfig{}, 16};
    b.model.n_embd = 384;
    b.model.n_head = 6;
    b.model.n_layer = 6;
    cases.push_back(b);
    Case c{"n32 wide", ModelConfig{}, 32};
    c.model.n_layer = 4;
    c.model.n_embd = 512;
    c.model.n_head = 8;
    cases.push_back(c);
  }

  // ---- 1. instantiate vs memcpy ---------------------------------------------------------------
  if (args.get("instantiate-table", "1") != "0") {
  std::printf("### Instantiation vs reading the bank once (k = %d, coef hidden 256; median of %d, %d warm-up)\n\n",
              k, reps, warmup);
  Table t1{{"bank", "model", "n", "P", "bank MiB", "memcpy ms", "instantiate ms (engine addmv)",
            "candidate ms (blocked)", "max abs diff", "ratio engine/memcpy", "ratio candidate/memcpy"}};
  for (const auto& cs : cases) {
    BankConfig bc;
    bc.n_experts = cs.n_experts;
    SoupBank bank(cs.model, bc, k, torch::kCPU);
    bank.init(1);
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> srcs;
    int64_t total = 0;
    for (const auto& [name, t] : bank.named_parameters()) {
      srcs.push_back(t.detach());
      total += t.numel();
    }
    const int64_t P = bank.layout().total;
    std::vector<float> dst(size_t(total), 1.0f);  // preallocated and touched
    auto do_memcpy = [&] {
      float* o = dst.data();
      for (const auto& s : srcs) {
        std::memcpy(o, s.data_ptr<float>(), size_t(s.numel()) * sizeof(float));
        o += s.numel();
      }
    };
    std::vector<double> h(k, 0.0);
    h[0] = 0.5;
    h[k > 1 ? 1 : 0] += 0.3;
    h[k > 2 ? 2 : 0] += 0.2;
    auto S = param(bank, "S").detach(), E = param(bank, "E").detach();
    torch::Tensor last_engine, last_cand;
    auto do_engine = [&] { last_engine = bank.theta(bank.h_tensor(h)); };
    auto do_cand = [&] { last_cand = instantiate_blocked(S, E, bank.alpha(bank.h_tensor(h))); };
    for (int i = 0; i < warmup; ++i) {
      do_memcpy();
      do_engine();
      do_cand();
    }
    std::vector<double> tm, te, tc;
    for (int r = 0; r < reps; ++r) {  // interleaved A B C A B C ...
      tm.push_back(bench::time_ms(do_memcpy));
      last_engine = torch::Tensor();
      te.push_back(bench::time_ms(do_engine));
      last_cand = torch::Tensor();
      tc.push_back(bench::time_ms(do_cand));
    }
    const double diff = (last_engine - last_cand).abs().max().item<double>();
    const double m = bench::median(tm), e = bench::median(te), c = bench::median(tc);
    t1.rows.push_back({cs.name, bench::describe(cs.model), std::to_string(cs.n_experts),
                       std::to_string(P), bench::mib(double(total) * 4), fmt("%.2f", m),
                       fmt("%.2f", e), fmt("%.2f", c), fmt("%.1e", diff), fmt("%.2fx", e / m),
                       fmt("%.2fx", c / m)});
  }
  t1.print();
  }

  // ---- 1b. inference forward throughput by batch size (what the slider path is made of) ------
  if (args.get("forward-table", "1") != "0") {
    const ModelConfig mc;
    BankConfig bc;
    bc.n_experts = 0;
    SoupBank bank(mc, bc, 1, torch::kCPU);
    bank.init(1);
    auto theta = bank.theta(bank.h_tensor({1.0})).detach();
    std::printf("### Inference forward of the demo model (no autograd), by batch (median of %d)\n\n", reps);
    Table tf{{"batch x T", "NoGradGuard ms", "InferenceMode ms", "tokens/s (NoGrad)", "tokens/s (Inference)"}};
    for (int b : {1, 2, 8, 16, 28}) {
      auto idx = bench::fixed_batch(b, mc.block_size).narrow(1, 0, mc.block_size);
      std::vector<double> a, c;
      for (int r = -warmup; r < reps; ++r) {
        const double x = bench::time_ms([&] {
          torch::NoGradGuard g;
          gpt_forward(theta, mc, bank.layout(), idx);
        });
        const double y = bench::time_ms([&] {
          c10::InferenceMode g;
          gpt_forward(theta, mc, bank.layout(), idx);
        });
        if (r < 0) continue;
        a.push_back(x);
        c.push_back(y);
      }
      const double ma = bench::median(a), mi = bench::median(c), tok = double(b) * mc.block_size;
      tf.rows.push_back({std::to_string(b) + " x " + std::to_string(mc.block_size), fmt("%.1f", ma),
                         fmt("%.1f", mi), fmt("%.0f", tok / ma * 1e3), fmt("%.0f", tok / mi * 1e3)});
    }
    tf.print();
  }

  // ---- 2. slider path at the default size (or --layers/--width, e.g. the cpu-night preset's) ----
  // What the inference worker runs per slider move: Model::instantiate (SoupBank::theta under
  // NoGradGuard) then Specialist::evaluate (mean_window_loss per domain). Rows: the GUI's full
  // tier (2 windows of the model's context per domain) on the real corpus (k = 14) and on the
  // demo corpus (k = 8), then the GUI's quick tier (shown first; quick_window_shape, used by
  // app/glue/inference_worker), then other shapes.
  ModelConfig slider_model;
  slider_model.n_layer = std::stoi(args.get("layers", std::to_string(slider_model.n_layer)));
  slider_model.n_embd = std::stoi(args.get("width", std::to_string(slider_model.n_embd)));
  slider_model.n_head = std::stoi(args.get("heads", std::to_string(slider_model.n_head)));
  std::printf("### Slider path at L%d C%d: instantiate + per-domain validation losses "
              "(bank n = 8; median of %d)\n\n", slider_model.n_layer, slider_model.n_embd, reps);
  Table t2{{"domains k", "tier", "windows/domain x tokens", "tokens/move", "instantiate ms",
            "per-domain losses ms", "total ms", "total / 100 ms budget"}};
  struct Shape {
    int k, windows, block;
    const char* tier;
    int evaluated = 0;  // domains evaluated (0: all): the GUI's quick tier covers the chart's page
  };
  const int full = ModelConfig{}.block_size;
  // The GUI's quick tier: up to 2 windows of up to 64 tokens within its token budget.
  auto quick = [](int kk) {
    const WindowShape q = quick_window_shape(kk, 64, 2);
    return Shape{kk, q.windows, q.block, "quick (GUI)"};
  };
  std::vector<Shape> shapes{{k, windows, full, "full (GUI)"}, {8, 2, full, "full (GUI)"},
                            quick(k), quick(8), {k, 2, 64, "-"}, {k, 1, full, "-"},
                            {7, 1, full, "-"}, {4, 1, full, "-"}};
  if (args.quick) shapes = {{k, windows, full, "full (GUI)"}, quick(k), quick(8)};
  // Beyond a page of bars (~60 at 1366 px), the GUI's quick tier evaluates the page only.
  constexpr int kPage = 60;
  if (k > kPage) {
    Shape page = quick(k);
    page.tier = "quick (GUI), one page of 60 domains";
    page.evaluated = kPage;
    shapes.insert(shapes.begin() + 2, page);
  }
  for (const Shape& sh : shapes) {
    const int kk = sh.k;
    const ModelConfig mc = slider_model;
    BankConfig bc;
    SoupBank bank(mc, bc, kk, torch::kCPU);
    bank.init(1);
    auto val = make_windows(kk, sh.windows, sh.block);
    std::vector<double> ti, tl;
    std::vector<double> h(kk, 1.0 / kk);
    for (int r = -warmup; r < reps; ++r) {
      h[r & 1 ? 0 : 1] += 0.05;  // a slider move
      double s = 0;
      for (double v : h) s += v;
      for (double& v : h) v /= s;
      torch::Tensor theta;
      std::vector<double> le;
      const double a = bench::time_ms([&] {
        torch::NoGradGuard g;
        theta = bank.theta(bank.h_tensor(h)).detach();
      });
      const double b = bench::time_ms([&] {
        for (size_t i = 0; i < val.size() && (sh.evaluated == 0 || int(i) < sh.evaluated); ++i)
          le.push_back(mean_window_loss(theta, mc, bank.layout(), val[i].tokens));
      });
      if (r < 0) continue;
      ti.push_back(a);
      tl.push_back(b);
    }
    const double a = bench::median(ti), b = bench::median(tl);
    t2.rows.push_back({std::to_string(kk), sh.tier,
                       std::to_string(sh.windows) + " x " + std::to_string(sh.block),
                       std::to_string((sh.evaluated ? sh.evaluated : kk) * sh.windows * sh.block), fmt("%.1f", a), fmt("%.1f", b),
                       fmt("%.1f", a + b), fmt("%.2fx", (a + b) / 100.0)});
  }
  t2.print();
  return 0;
}
