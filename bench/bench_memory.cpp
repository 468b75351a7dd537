// Memory of training (docs/DESIGN.md §4.5): peak RSS (VmHWM from /proc/self/status) of training
// a bank with the trainer's step, against the bank's bytes by formula. One bank per process,
// since the high-water mark only grows: run it once per configuration.
//
//   bench_memory [--quick] [--threads 2] [--experts 8] [--steps 5] [--batch 16] [--domains 14]
//                [--variant engine|candidate]
#include <torch/torch.h>

#include "bench_common.h"
#include "souplab/param_layout.h"
#include "step_common.h"

using namespace souplab;
using bench::fmt;
using bench::mib;
using bench::Table;

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const int n = std::stoi(args.get("experts", "8"));
  const int steps = std::stoi(args.get("steps", args.quick ? "3" : "5"));
  const int B = std::stoi(args.get("batch", "16"));
  const int k = std::stoi(args.get("domains", "14"));
  const bool candidate = args.get("variant", "engine") == "candidate";
  bench::print_machine("bench_memory", args);

  const ModelConfig mc;
  const int T = mc.block_size;
  const double rss_start = double(bench::proc_status_bytes("VmRSS"));
  auto batch = bench::fixed_batch(B, T);
  auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
  std::vector<double> h(k, 0.0);
  h[0] = 1.0;
  bench::Stepper st(mc, n, k, candidate ? bench::Variant::kCandidate : bench::Variant::kEngine);
  const double rss_bank = double(bench::proc_status_bytes("VmRSS"));
  for (int i = 0; i < steps; ++i) st.step(x, y, h);
  const double hwm = double(bench::proc_status_bytes("VmHWM"));

  BankConfig bc;
  bc.n_experts = n;
  const ParamCounts pc = param_counts(mc, bc, k);
  const double bank_bytes = 4.0 * double(pc.total);
  // Trained state by formula: the bank, its gradients and AdamW's two moments, plus the (P) decay mask.
  const double state_bytes = 4.0 * bank_bytes + 4.0 * double(pc.base);

  std::printf("### Memory: training the %s (%s, n = %d, k = %d, batch %d x %d, %s step; %d steps)\n\n",
              n == 8 ? "default bank" : (n == 0 ? "dense model" : "bank"), bench::describe(mc).c_str(),
              n, k, B, T, candidate ? "candidate" : "engine", steps);
  Table t{{"quantity", "MiB"}};
  t.rows.push_back({"bank by formula: 4 B x (P + n*P + coef MLP) = 4 x " + std::to_string(pc.total), mib(bank_bytes)});
  t.rows.push_back({"training state by formula: bank + grads + AdamW m, v (4x bank) + decay mask", mib(state_bytes)});
  t.rows.push_back({"RSS at start (libtorch loaded)", mib(rss_start)});
  t.rows.push_back({"RSS after building the bank and optimiser", mib(rss_bank)});
  t.rows.push_back({"peak RSS while training (VmHWM)", mib(hwm)});
  t.rows.push_back({"peak RSS - start - state formula (activations, temporaries)", mib(hwm - rss_start - state_bytes)});
  t.rows.push_back({"ratio peak / training state by formula", fmt("%.2fx", hwm / state_bytes)});
  t.print();
  return 0;
}
