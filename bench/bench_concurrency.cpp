// Training beside exploring in one process (issue: the explorer, "Concurrency"): the training's
// tokens/s alone, and while a second thread evaluates specialists without pause as the explorer
// does on slider moves and refinement (instantiate at a fresh h, then per-window losses on every
// domain), with that thread's libtorch team at every core (one team per thread: what a process
// got before app/glue/core_share.h) and at the one core a 2-core training leaves it, and, as the
// explorer's background refinement does beside a training, resting 3x as long as each slice of
// work took (core_share's restAfterBackgroundWorkMs). Also the explorer's own rate (evaluated
// windows per second) in each case. Last, "Specialist for this text": fitting h through the bank
// (`weights --method fit`, 40 steps) alone and beside the training, at the one core the
// training leaves it, and the training's speed meanwhile.
//
//   bench_concurrency [--corpus DIR] [--work DIR] [--steps 40] [--threads 2] [--target FILE]
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "bench_common.h"
#include "souplab/config.h"
#include "souplab/device.h"
#include "souplab/domain_weights.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "souplab/trainer.h"
#include "souplab/validation_set.h"

namespace fs = std::filesystem;
using namespace souplab;
using Clock = std::chrono::steady_clock;

namespace {

struct Outcome {
  double train_tok_s = 0;     // mean over the reports after the first (warm-up)
  double explore_windows_s = 0;
  double fit_s = 0;           // seconds per fit (the fit row)
};

// Fits h for `target` through `bank` again and again until `done`; returns seconds per fit.
double fit_loop(const std::string& bank, const std::string& target, int threads, const std::atomic<bool>& done,
                bool once) {
  set_this_thread_torch_threads(threads);
  auto model = Model::load(bank, "cpu");
  FitOptions fo;  // `weights --method fit`'s defaults
  int fits = 0;
  const auto t0 = Clock::now();
  do {
    model->fit_weights(target, fo);
    ++fits;
  } while (!once && !done);
  return std::chrono::duration<double>(Clock::now() - t0).count() / fits;
}

// Trains `cfg` for its steps; while it runs, with explore_threads > 0, another thread evaluates
// specialists of `bank` at random h with that many intra-op threads (or, with a target, fits
// h for it again and again).
Outcome run(const RunConfig& cfg, const std::string& log, const std::string& bank, int explore_threads,
            bool paced = false, const std::string& fit_target = "") {
  std::atomic<bool> done{false};
  std::atomic<int64_t> windows{0};
  std::thread explorer;
  double explore_s = 0, fit_s = 0;
  if (explore_threads > 0 && !fit_target.empty()) {
    explorer = std::thread([&] { fit_s = fit_loop(bank, fit_target, explore_threads, done, false); });
  } else if (explore_threads > 0) {
    explorer = std::thread([&] {
      set_this_thread_torch_threads(explore_threads);
      auto model = Model::load(bank, "cpu");
      auto val = ValidationSet::for_model(model->facts(), 32);
      const size_t k = model->facts().domains.size();
      std::mt19937_64 rng(1);
      std::exponential_distribution<double> e(1.0);
      const auto t0 = Clock::now();
      while (!done) {
        std::vector<double> h(k);
        for (auto& v : h) v = e(rng);
        auto s = model->instantiate(model->weights(h));
        for (size_t d = 0; d < k && !done; ++d) {
          const auto slice = Clock::now();
          windows += int64_t(s->window_losses(*val, d, 0, 2).size());
          if (paced) std::this_thread::sleep_for(3 * (Clock::now() - slice));
        }
      }
      explore_s = std::chrono::duration<double>(Clock::now() - t0).count();
    });
  }
  std::vector<double> rates;
  TrainCallbacks cb;
  cb.on_progress = [&](const TrainProgress& p) { rates.push_back(p.tokens_per_sec); };
  auto trainer = Trainer::start_new(cfg, log, cb);
  trainer->run(cb);
  done = true;
  if (explorer.joinable()) explorer.join();
  Outcome o;
  double sum = 0;
  for (size_t i = 1; i < rates.size(); ++i) sum += rates[i];
  o.train_tok_s = rates.size() > 1 ? sum / double(rates.size() - 1) : (rates.empty() ? 0 : rates[0]);
  o.explore_windows_s = explore_s > 0 ? double(windows.load()) / explore_s : 0;
  o.fit_s = fit_s;
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv);
  const std::string corpus = args.get("corpus", "../shared/corpus");
  const std::string work = fs::absolute(args.get("work", "concurrency-work")).string();
  const int threads = args.threads > 0 ? args.threads : 2;
  fs::create_directories(work);
  RunConfig cfg;  // the default bank
  cfg.train.corpus_dir = corpus;
  cfg.train.cache_dir = (fs::path(work) / "cache").string();
  cfg.train.device = "cpu";
  cfg.train.threads = threads;
  cfg.train.steps = std::stoll(args.get("steps", "40"));
  cfg.train.log_interval = 5;
  cfg.train.eval_interval = 1000000;
  cfg.train.checkpoint_interval = cfg.train.steps;
  const std::string log = (fs::path(work) / "runs.sqlite").string();
  // The bank the explorer evaluates: a default-size bank of a few steps (speed does not depend
  // on how well it is trained).
  RunConfig first = cfg;
  first.train.steps = 2;
  first.train.out_dir = (fs::path(work) / "bank").string();
  fs::remove_all(first.train.out_dir);
  auto t = Trainer::start_new(first, log, {});
  t->run({});
  const std::string bank = t->last_checkpoint();

  int run_no = 0;
  auto fresh = [&] {
    RunConfig c = cfg;
    c.train.out_dir = (fs::path(work) / ("run" + std::to_string(run_no++))).string();
    fs::remove_all(c.train.out_dir);
    return c;
  };
  const Outcome alone = run(fresh(), log, bank, 0);
  const Outcome shared = run(fresh(), log, bank, threads);  // a team as large as the training's
  const Outcome one = run(fresh(), log, bank, 1);           // what core_share leaves on 2 cores
  const Outcome rested = run(fresh(), log, bank, 1, true);  // ... and the refinement's rests
  bench::Table table;
  table.header = {"explorer beside the training", "training tok/s", "of alone", "explorer windows/s"};
  table.rows.push_back({"none", bench::fmt("%.0f", alone.train_tok_s), "1.00x", "-"});
  table.rows.push_back({std::to_string(threads) + " threads (one team per thread)", bench::fmt("%.0f", shared.train_tok_s),
                        bench::fmt("%.2fx", shared.train_tok_s / alone.train_tok_s), bench::fmt("%.1f", shared.explore_windows_s)});
  table.rows.push_back({"1 thread (core_share)", bench::fmt("%.0f", one.train_tok_s),
                        bench::fmt("%.2fx", one.train_tok_s / alone.train_tok_s), bench::fmt("%.1f", one.explore_windows_s)});
  table.rows.push_back({"1 thread, resting 3x each slice (refinement)", bench::fmt("%.0f", rested.train_tok_s),
                        bench::fmt("%.2fx", rested.train_tok_s / alone.train_tok_s), bench::fmt("%.1f", rested.explore_windows_s)});
  std::printf("### Training beside the explorer (default bank, training at %d threads, %lld steps)\n\n%s",
              threads, (long long)cfg.train.steps, table.markdown().c_str());

  // "Specialist for this text": the fit alone (every core) and beside the training (the core
  // the training leaves, as core_share gives it).
  const std::string target = args.get("target", (fs::path(corpus) / "fortunes_en" / "data.txt").string());
  std::atomic<bool> never{false};
  const double fit_alone = fit_loop(bank, target, threads, never, true);
  const Outcome fitting = run(fresh(), log, bank, 1, false, target);
  bench::Table fits;
  fits.header = {"fit h for a text (40 steps)", "seconds per fit", "training tok/s", "of alone"};
  fits.rows.push_back({"alone, " + std::to_string(threads) + " threads", bench::fmt("%.2f", fit_alone), "-", "-"});
  fits.rows.push_back({"beside the training, 1 thread", bench::fmt("%.2f", fitting.fit_s),
                       bench::fmt("%.0f", fitting.train_tok_s), bench::fmt("%.2fx", fitting.train_tok_s / alone.train_tok_s)});
  std::printf("\n### Fitting h beside the training (target %s)\n\n%s", target.c_str(), fits.markdown().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_concurrency: %s\n", e.what());
  return 1;
}
