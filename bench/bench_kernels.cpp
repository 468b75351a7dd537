// The bank's two memory-bound kernels on one device (the GPU issue), each against what it
// replaces and against a plain copy of the bytes it must touch, measured side by side:
// - instantiation: theta = S + alpha^T E in float32 (libtorch's addmm), and for inference in bf16
//   the fused instantiate+cast (engine/nn/instantiate_cast) vs addmm then a cast; against a
//   device-to-device copy of the bank (S and E: the bytes every instantiation reads once);
// - the experts' AdamW step: the factored one (E's gradient alpha^T dL/dtheta never written;
//   engine/cuda/factored_adamw.cu on CUDA, AdamW::step_factored_cpu on the CPU) vs the unfused
//   path (the n x P gradient materialised, then the step over it).
// Medians of --reps runs after --warmup; on CUDA every timing synchronises the device.
//
//   bench_kernels [--device cpu|cuda] [--threads 2] [--reps N] [--warmup N]
//                 [--params P] [--experts 8,32] [--groups 4]
// Default P = 3,290,624 (L4 C256 T256: a model whose bank dwarfs the caches).
#include <torch/torch.h>

#include <sstream>

#include "bench_common.h"
#include "engine/nn/adamw.h"
#include "engine/nn/instantiate_cast.h"

using namespace souplab;
using bench::fmt;

namespace {

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

double median_ms(const torch::Device& dev, int warmup, int reps, const std::function<void()>& f) {
  for (int i = 0; i < warmup; ++i) f();
  sync(dev);
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = bench::Clock::now();
    f();
    sync(dev);
    t.push_back(bench::ms_since(t0));
  }
  return bench::median(t);
}

std::string gbps(double bytes, double ms) { return fmt("%.1f", bytes / (ms * 1e6)); }

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const torch::Device dev(args.get("device", "cpu"));
  if (dev.is_cuda() && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench_kernels: no CUDA device here\n");
    return 2;
  }
  const int reps = args.reps_or(15, 5), warmup = args.warmup_or(3);
  const int64_t P = std::stoll(args.get("params", "3290624"));
  const int64_t G = std::stoll(args.get("groups", "4"));
  std::vector<int64_t> ns;
  {
    std::stringstream ss(args.get("experts", "8,32"));
    std::string item;
    while (std::getline(ss, item, ',')) ns.push_back(std::stoll(item));
  }
  bench::print_machine("bench_kernels", args);
  std::printf("### The bank's kernels on %s (P = %lld, median of %d after %d warm-up)\n\n", dev.str().c_str(),
              static_cast<long long>(P), reps, warmup);

  bench::Table inst{{"n", "copy of S + E ms", "fp32 addmm ms", "bf16 addmm + cast ms", "bf16 fused ms",
                     "fused GB/s", "fused / copy", "fused / (addmm + cast)"}};
  bench::Table opt{{"n", "G", "factored step ms", "unfused step ms", "factored GB/s", "factored / unfused"}};
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
  for (int64_t n : ns) {
    torch::manual_seed(1);
    const auto S = torch::randn({P}, f32), E = torch::randn({n, P}, f32) * 0.01, alpha = torch::randn({n}, f32);
    torch::Tensor sink;
    // The floor: S and E copied once into a buffer allocated beforehand (as the specialist's is
    // by the caching allocator on CUDA; a fresh CPU allocation would time page faults too).
    const auto bank = torch::cat({S.unsqueeze(0), E});
    auto copy = torch::empty_like(bank);
    const double copy_ms = median_ms(dev, warmup, reps, [&] { copy.copy_(bank); });
    const double fp32 = median_ms(dev, warmup, reps, [&] { sink = torch::addmm(S.unsqueeze(0), alpha.unsqueeze(0), E); });
    const double unfused = median_ms(dev, warmup, reps, [&] {
      sink = torch::addmm(S.unsqueeze(0), alpha.unsqueeze(0), E).to(torch::kBFloat16);
    });
    const double fused = median_ms(dev, warmup, reps, [&] { sink = instantiate_cast(S, E, alpha, torch::kBFloat16); });
    const double read_bytes = double(n + 1) * P * 4 + double(P) * 2;
    inst.rows.push_back({std::to_string(n), fmt("%.3f", copy_ms), fmt("%.3f", fp32), fmt("%.3f", unfused),
                         fmt("%.3f", fused), gbps(read_bytes, fused), fmt("%.2fx", fused / copy_ms),
                         fmt("%.2fx", fused / unfused)});

    // The experts' AdamW: the same gradient A^T D handed over factored or materialised.
    AdamWOptions o;
    auto Ef = E.clone(), Eu = E.clone();
    const auto mask = torch::ones({P}, f32);
    AdamW factored({Ef}, {mask}, o, {0.5}), plain({Eu}, {mask}, o, {0.5});
    const auto A = torch::randn({G, n}, f32), D = torch::randn({G, P}, f32) * 1e-3;
    const double tf = median_ms(dev, warmup, reps, [&] {
      factored.set_factored_grad(0, {A, D});
      factored.step(1e-3, 0.9);
    });
    const double tu = median_ms(dev, warmup, reps, [&] {
      Eu.mutable_grad() = torch::mm(A.t(), D);  // what autograd through E would hand over
      plain.step(1e-3, 0.9);
    });
    const double opt_bytes = double(n) * P * 4 * 6 + double(G) * P * 4;  // E, m, v in and out, D in
    opt.rows.push_back({std::to_string(n), std::to_string(G), fmt("%.3f", tf), fmt("%.3f", tu), gbps(opt_bytes, tf),
                        fmt("%.2fx", tf / tu)});
  }
  std::printf("Instantiation (S and E read once; the copy reads and writes them once):\n\n");
  inst.print();
  std::printf("\nThe experts' AdamW step (the factored step reads E, m, v and D and writes E, m, v once):\n\n");
  opt.print();
  return 0;
}
