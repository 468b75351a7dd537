// souplab-cli train / resume.
#include <csignal>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "app/cli/config_flags.h"
#include "app/cli/distributed_launch.h"
#include "app/cli/progress_bar.h"
#include "souplab/atomic_file.h"
#include "souplab/corpus.h"
#include "souplab/demo_corpus.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/paths.h"
#include "souplab/presets.h"
#include "souplab/trainer.h"

namespace souplab::cli {
namespace {

// Ctrl-C asks the trainer to stop at the next step, which saves a checkpoint first.
std::atomic<bool> g_stop_requested{false};
void on_sigint(int) { g_stop_requested = true; }

// Every config key with a flag (engine/core/config.cpp's table), plus what is not a config key.
Args train_args(std::vector<ConfigFlag>* flags) {
  Args a("train", "souplab-cli train [--config FILE] [--corpus DIR] [flags]",
         "Trains a Soup-of-Experts bank (--kind soup), a dense baseline (--kind dense) or a sparse\n"
         "mixture-of-experts (--kind moe, Switch/GShard routing) on a corpus (a folder of domain\n"
         "folders). Without --corpus the demo corpus is used (built from text on this machine\n"
         "on first use). Flags override the config file.");
  a.flag("config", "FILE", "JSON run config {\"model\":{},\"bank\":{},\"moe\":{},\"train\":{}}")
      .flag("preset", "NAME",
            "a size and budget for a kind of machine: quick, cpu-night, gpu-30min, gpu-8h (--list-presets); "
            "the other flags override what it sets")
      .option("list-presets", "list the presets with their size, tokens, memory and time here, and exit")
      .option("estimate", "print the run's size, tokens, memory and time (a few steps measured here) and exit")
      .flag("estimate-seconds", "S", "how long the estimate's measured steps run", "6")
      .flag("mixture", "H", "dense and moe: domain weights to train on (e.g. code_c=1 for an oracle)", "uniform");
  *flags = config_flags_of(a, {"model", "bank", "moe", "train"});
  a.flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("print-config", "print the resulting config as JSON and exit")
      .option("quiet", "no progress output");
  add_distributed_flags(a);
  return a;
}

RunConfig config_from(const Args& a, const std::vector<ConfigFlag>& flags) {
  RunConfig c;
  if (a.has("config")) c = parse_run_config(read_file(a.get("config")), a.get("config"));
  if (a.has("preset")) apply_preset(find_preset(a.get("preset")), c);
  const int bank_experts = c.bank.n_experts;
  apply_config_flags(a, flags, &c);
  // One flag for two keys: --experts is the MoE's E per block when the run is a MoE.
  if (c.train.kind == ModelKind::kMoe && a.has("experts")) {
    c.bank.n_experts = bank_experts;
    set_config_flag(c, "moe-experts", a.get("experts"));
  }
  validate(c);
  return c;
}

TrainCallbacks callbacks_for(ProgressBar& bar) {
  TrainCallbacks cb;
  cb.on_progress = [&](const TrainProgress& p) { bar.progress(p); };
  cb.on_eval = [&](const EvalResult& r) { bar.eval(r); };
  cb.on_message = [&](const std::string& m) { bar.message(m); };
  cb.on_checkpoint = [&](const std::string& path, int64_t step) {
    bar.message("checkpoint at step " + std::to_string(step) + ": " + path);
  };
  cb.should_stop = [] { return g_stop_requested.load(); };
  return cb;
}

// Ranks above 0 of a job stay silent: rank 0 reports for all.
int train_to_end(Trainer& trainer, ProgressBar& bar, const TrainCallbacks& cb, int rank) {
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  const TrainOutcome outcome = trainer.run(cb);
  bar.finish();
  if (rank == 0) std::printf("run %lld %s at step %lld; last checkpoint: %s\n",
              static_cast<long long>(trainer.run_id()),
              outcome == TrainOutcome::kFinished ? "finished" : "stopped",
              static_cast<long long>(trainer.step()), trainer.last_checkpoint().c_str());
  return outcome == TrainOutcome::kFinished ? 0 : 130;
}

int list_presets() {
  std::printf("%-10s  %s\n", "preset", "what it is, and what it costs here");
  for (const Preset& p : presets()) {
    RunConfig c;
    apply_preset(p, c);
    std::printf("%-10s  %s\n            %s\n            sized by: %s\n", p.name.c_str(), p.title.c_str(),
                describe_estimate(estimate_on_this_machine(c, 14)).c_str(), p.sized_by.c_str());
  }
  return 0;
}

}  // namespace

// The demo corpus folder, built first if it is not there yet.
std::string ensure_demo_corpus(ProgressBar& bar) {
  const std::string dir = default_demo_corpus_dir();
  if (std::filesystem::is_directory(dir)) return dir;
  bar.message("building the demo corpus in " + dir + " from text installed on this machine...");
  const DemoCorpusReport r = build_demo_corpus(dir);
  for (const auto& note : r.notes) bar.message("  " + note);
  return dir;
}

int cmd_train(int argc, char** argv) {
  std::vector<ConfigFlag> flags;
  Args a = train_args(&flags);
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(0);
  if (a.has("list-presets")) return list_presets();
  if (wants_local_launch(a)) return launch_local_workers(a, argc, argv);
  const DistributedOptions dist = distributed_options(a);
  RunConfig c = config_from(a, flags);
  if (a.has("estimate") || (a.has("preset") && dist.rank == 0 && !a.has("print-config"))) {
    // Before the run: what it costs, so a preset too big for the evening is seen in seconds.
    const std::string line =
        "estimate: " + describe_estimate(estimate_on_this_machine(c, 14, a.get_double("estimate-seconds", 6.0)));
    std::fprintf(stderr, "%s\n", line.c_str());
    if (a.has("estimate")) return 0;
  }
  ProgressBar bar(a.has("quiet") || dist.rank > 0);  // rank 0 speaks for the job
  if (c.train.corpus_dir.empty()) c.train.corpus_dir = ensure_demo_corpus(bar);
  if (a.has("mixture")) {
    if (c.train.kind == ModelKind::kSoup) a.usage_error("--mixture applies to --kind dense or moe only");
    c.train.mixture = {};  // parsed against the corpus' domain names below
  }
  if (a.has("print-config")) {
    std::printf("%s\n", to_json(c).c_str());
    return 0;
  }
  TrainCallbacks cb = callbacks_for(bar);
  if (a.has("mixture")) {
    // Resolve names against the corpus (the trainer opens it anyway; the cache makes it cheap).
    CorpusOptions opts;
    opts.cache_dir = c.train.cache_dir;
    auto cache = TokenCache::open(c.train.corpus_dir, opts);
    c.train.mixture = parse_domain_weights(a.get("mixture"), cache->domain_names());
  }
  auto trainer = Trainer::start_new(c, a.get("run-log"), cb, dist);
  return train_to_end(*trainer, bar, cb, dist.rank);
}

int cmd_resume(int argc, char** argv) {
  Args a("resume", "souplab-cli resume CHECKPOINT [--steps N]",
         "Continues the run of CHECKPOINT exactly where it stopped (same run id, same data order).");
  a.flag("steps", "N", "train until this total step count (raise it to train longer)", "the run's own")
      .flag("run-log", "FILE", "SQLite run log", "the one recorded in the checkpoint")
      .option("quiet", "no progress output");
  add_distributed_flags(a);
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  const std::string ckpt = a.positional_at(0, "CHECKPOINT");
  if (wants_local_launch(a)) return launch_local_workers(a, argc, argv);
  const DistributedOptions dist = distributed_options(a);
  ProgressBar bar(a.has("quiet") || dist.rank > 0);
  TrainCallbacks cb = callbacks_for(bar);
  auto trainer = Trainer::resume(ckpt, a.get("run-log"), cb, a.get_int("steps", 0), dist);
  return train_to_end(*trainer, bar, cb, dist.rank);
}

}  // namespace souplab::cli
