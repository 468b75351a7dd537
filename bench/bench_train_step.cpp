// Training step (docs/DESIGN.md §4.2): a Soup-of-Experts step against the dense base model's step at the
// same size, batch and context, on the same batch, for n = 4, 8, 16, 32. Steps are interleaved
// (dense, soup, dense', soup', ...) and each column is the median of the timed steps after
// warm-up. "engine" = the trainer's step today. Candidates (same math, proposed engine changes,
// see step_common.h and docs/BENCHMARKS.md): A = fused single-pass AdamW with the clip folded in,
// grads reset instead of zeroed, theta = addmm(S, alpha^T, E) so dE is contiguous;
// B = A plus E's gradient never materialised (rank-one: dE = alpha g^T read by the optimiser).
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
           "cand. A soup ms", "ratio A/dense", "cand. B soup ms", "ratio B/dense"}};
  Table ph{{"step", "zero_grad", "forward", "backward", "clip", "AdamW", "total ms"}};
  auto phase_row = [&](const std::string& name, const Phases& p) {
    ph.rows.push_back({name, fmt("%.1f", p.zero), fmt("%.1f", p.forward), fmt("%.1f", p.backward),
                       fmt("%.1f", p.clip), fmt("%.1f", p.adam), fmt("%.1f", p.total)});
  };
  bool dense_phases_done = false;
  for (int n : ns) {
    Stepper dense(mc, 0, k, Variant::kEngine), soup(mc, n, k, Variant::kEngine);
    std::unique_ptr<Stepper> ca, cb;
    if (candidates) {
      ca = std::make_unique<Stepper>(mc, n, k, Variant::kCandidate);
      cb = std::make_unique<Stepper>(mc, n, k, Variant::kRankOne);
    }
    std::vector<Phases> pd, ps, pa, pb;
    for (int r = -warmup; r < reps; ++r) {  // interleaved: dense, soup, A, B, dense, ...
      auto a = dense.step(x, y, h);
      auto b = soup.step(x, y, h);
      Phases c, d;
      if (candidates) {
        c = ca->step(x, y, h);
        d = cb->step(x, y, h);
      }
      if (r < 0) continue;
      pd.push_back(a);
      ps.push_back(b);
      pa.push_back(c);
      pb.push_back(d);
    }
    const auto md = bench::median_phases(pd), ms = bench::median_phases(ps);
    const auto ma = bench::median_phases(pa), mb = bench::median_phases(pb);
    const double tokens = double(B) * T;
    t.rows.push_back({std::to_string(n), fmt("%.0f", md.total), fmt("%.0f", ms.total),
                      fmt("%.0f", tokens / md.total * 1e3), fmt("%.0f", tokens / ms.total * 1e3),
                      fmt("%.3fx", ms.total / md.total),
                      candidates ? fmt("%.0f", ma.total) : "-",
                      candidates ? fmt("%.3fx", ma.total / md.total) : "-",
                      candidates ? fmt("%.0f", mb.total) : "-",
                      candidates ? fmt("%.3fx", mb.total / md.total) : "-"});
    if (!dense_phases_done) {
      phase_row("dense, engine", md);
      dense_phases_done = true;
    }
    phase_row("soup n=" + std::to_string(n) + ", engine", ms);
    if (candidates) {
      phase_row("soup n=" + std::to_string(n) + ", cand. A", ma);
      phase_row("soup n=" + std::to_string(n) + ", cand. B", mb);
    }
    std::fprintf(stderr, "n=%d done (last losses: dense %.4f soup %.4f A %.4f B %.4f)\n", n, md.loss,
                 ms.loss, ma.loss, mb.loss);
  }
  t.print();
  std::printf("Median time per phase (ms):\n\n");
  ph.print();
  return 0;
}
