// One build's headline speeds, as "key value" lines for bench/run_all.sh, which runs this
// binary from the Debian-libtorch build and from the PyPI-libtorch build in alternation and
// prints the ratios (libtorch 1.13 vs 2.x on the same machine, side by side):
//   dense_tok_s     training tokens/s of the dense demo model (the trainer's step)
//   soup_tok_s      the same for a soup bank (n = 8, k = 14)
//   slider_quick_ms a slider move: instantiate + the GUI's quick per-domain tier (k = 14)
//   slider_full_ms  ... with the full tier (2 windows of the context per domain)
// --attention souplab|torch|matmul picks the attention kernel (engine/nn/torch_compat.h; torch
// needs libtorch 2.x).
//
//   bench_throughput [--threads 2] [--reps N] [--attention souplab|torch|matmul]
#include <torch/torch.h>

#include "bench_common.h"
#include "souplab/domain_weights.h"
#include "engine/nn/soup.h"
#include "engine/nn/torch_compat.h"
#include "engine/nn/validation.h"
#include "souplab/validation_set.h"
#include "step_common.h"

using namespace souplab;

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const int reps = args.reps_or(7, 3), warmup = args.warmup_or(2);
  const std::string attention = args.get("attention", "souplab");
  compat::attention_path() = attention == "matmul" ? compat::AttentionPath::kMatmul
                             : attention == "torch" ? compat::AttentionPath::kTorch
                                                    : compat::AttentionPath::kSouplab;
  const ModelConfig mc;  // the demo size
  const int T = mc.block_size, B = 16, k = 14;
  std::printf("torch %d.%d.%d\nattention %s\n", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH,
              compat::attention_path_name(compat::attention_path()));

  auto batch = bench::fixed_batch(B, T);
  auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
  std::vector<double> h(k, 0.0);
  h[0] = 0.6;
  h[3] = 0.4;
  bench::Stepper dense(mc, 0, k, bench::Variant::kEngine), soup(mc, 8, k, bench::Variant::kEngine);
  std::vector<double> td, ts;
  for (int r = -warmup; r < reps; ++r) {  // interleaved
    const double a = dense.step(x, y, h).total, b = soup.step(x, y, h).total;
    if (r < 0) continue;
    td.push_back(a);
    ts.push_back(b);
  }
  const double tokens = double(B) * T;
  std::printf("dense_tok_s %.1f\nsoup_tok_s %.1f\n", tokens / bench::median(td) * 1e3,
              tokens / bench::median(ts) * 1e3);

  // The slider path as the inference worker runs it, on random windows of the two tiers' shapes.
  SoupBank bank(mc, BankConfig{}, k, torch::kCPU);
  bank.init(1);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  for (const auto& [name, shape] : {std::pair{"slider_quick_ms", quick_window_shape(k, 64, 2)},
                                    std::pair{"slider_full_ms", WindowShape{T, 2}}}) {
    std::vector<torch::Tensor> val;
    for (int d = 0; d < k; ++d) val.push_back(torch::randint(0, 256, {shape.windows, shape.block + 1}, gen, torch::kInt64));
    std::vector<double> tm;
    std::vector<double> hh(k, 1.0 / k);
    for (int r = -warmup; r < reps; ++r) {
      hh[r & 1 ? 0 : 1] += 0.05;  // a slider move
      const double ms = bench::time_ms([&] {
        torch::NoGradGuard g;
        auto theta = bank.theta(bank.h_tensor(normalize_domain_weights(hh, k))).detach();
        for (const auto& w : val) mean_window_loss(theta, mc, bank.layout(), w);
      });
      if (r >= 0) tm.push_back(ms);
    }
    std::printf("%s %.2f\n", name, bench::median(tm));
  }
  return 0;
}
