// Training step (DESIGN §4): a Soup-of-Experts step against the dense base model's step at the
// same size, batch and context, on the same batch, for n = 4, 8, 16, 32. Steps are interleaved
// (dense, soup, dense', soup', ...) and each column is the median of the timed steps after
// warm-up. "engine" = the trainer's step today; "candidate" = the changes proposed in
// docs/BENCHMARKS.md (same math), applied to both dense and soup.
//
//   bench_train_step [--quick] [--threads 2] [--reps N] [--warmup N] [--experts 4,8,16,32]
//                    [--batch 16] [--domains 14]
#include <torch/torch.h>

#include <sstream>

#include "bench_common.h"
#include "step_common.h"

using namespace souplab;
using bench::fmt;
using bench::Phases;
using bench::Stepper;
using bench::Table;
using bench::Variant;

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const int reps = args.reps_or(9, 3), warmup = args.warmup_or(2);
  const int B = std::stoi(args.get("batch", "16"));
  const int k = std::stoi(args.get("domains", "14"));
  std::vector<int> ns;
  {
    std::stringstream ss(args.get("experts", args.quick ? "4,8,32" : "4,8,16,32"));
    std::string item;
    while (std::getline(ss, item, ',')) ns.push_back(std::stoi(item));
  }
  const bool candidates = args.get("candidate", "1") != "0";
  bench::print_machine("bench_train_step", args);

  const ModelConfig mc;  // the demo size
  const int T = mc.block_size;
  auto batch = bench::fixed_batch(B, T);
  auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
  std::vector<double> h(k, 0.0);  // a sparse h as pi draws it; the step's cost does not depend on it
  h[0] = 0.6;
  h[k > 3 ? 3 : 0] += 0.4;

  std::printf("### Training step: soup vs dense (%s, batch %d x %d tokens, k = %d; median of %d, %d warm-up)\n\n",
              bench::describe(mc).c_str(), B, T, k, reps, warmup);
  Table t{{"n", "dense ms", "soup ms", "dense tok/s", "soup tok/s", "ratio soup/dense",
           "cand. dense ms", "cand. soup ms", "cand. ratio soup/dense (vs engine dense)"}};
  Table ph{{"step", "zero_grad", "forward", "backward", "clip", "AdamW", "total ms"}};
  auto phase_row = [&](const std::string& name, const Phases& p) {
    ph.rows.push_back({name, fmt("%.1f", p.zero), fmt("%.1f", p.forward), fmt("%.1f", p.backward),
                       fmt("%.1f", p.clip), fmt("%.1f", p.adam), fmt("%.1f", p.total)});
  };
  bool dense_phases_done = false;
  for (int n : ns) {
    Stepper dense(mc, 0, k, Variant::kEngine), soup(mc, n, k, Variant::kEngine);
    std::unique_ptr<Stepper> cdense, csoup;
    if (candidates) {
      cdense = std::make_unique<Stepper>(mc, 0, k, Variant::kCandidate);
      csoup = std::make_unique<Stepper>(mc, n, k, Variant::kCandidate);
    }
    std::vector<Phases> pd, ps, pcd, pcs;
    for (int r = -warmup; r < reps; ++r) {
      auto a = dense.step(x, y, h);
      auto b = soup.step(x, y, h);
      Phases c, d;
      if (candidates) {
        c = cdense->step(x, y, h);
        d = csoup->step(x, y, h);
      }
      if (r < 0) continue;
      pd.push_back(a);
      ps.push_back(b);
      pcd.push_back(c);
      pcs.push_back(d);
    }
    const auto md = bench::median_phases(pd), ms = bench::median_phases(ps);
    const auto mcd = bench::median_phases(pcd), mcs = bench::median_phases(pcs);
    const double tokens = double(B) * T;
    t.rows.push_back({std::to_string(n), fmt("%.0f", md.total), fmt("%.0f", ms.total),
                      fmt("%.0f", tokens / md.total * 1e3), fmt("%.0f", tokens / ms.total * 1e3),
                      fmt("%.3fx", ms.total / md.total),
                      candidates ? fmt("%.0f", mcd.total) : "-", candidates ? fmt("%.0f", mcs.total) : "-",
                      candidates ? fmt("%.3fx", mcs.total / mcd.total) + " (" +
                                       fmt("%.3fx", mcs.total / md.total) + ")"
                                 : "-"});
    if (!dense_phases_done) {
      phase_row("dense, engine", md);
      if (candidates) phase_row("dense, candidate", mcd);
      dense_phases_done = true;
    }
    phase_row("soup n=" + std::to_string(n) + ", engine", ms);
    if (candidates) phase_row("soup n=" + std::to_string(n) + ", candidate", mcs);
    std::fprintf(stderr, "n=%d done (losses: dense %.4f soup %.4f cand %.4f/%.4f)\n", n, md.loss,
                 ms.loss, mcd.loss, mcs.loss);
  }
  t.print();
  std::printf("Median time per phase (ms):\n\n");
  ph.print();
  return 0;
}
