// souplab-cli train / resume.
#include <csignal>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "app/cli/progress_bar.h"
#include "engine/core/atomic_file.h"
#include "engine/core/corpus.h"
#include "engine/core/demo_corpus.h"
#include "engine/core/domain_weights.h"
#include "engine/core/error.h"
#include "engine/core/paths.h"
#include "engine/nn/trainer.h"

namespace souplab::cli {
namespace {

// Ctrl-C asks the trainer to stop at the next step, which saves a checkpoint first.
std::atomic<bool> g_stop_requested{false};
void on_sigint(int) { g_stop_requested = true; }

Args train_args() {
  const RunConfig d;
  Args a("train", "souplab-cli train [--config FILE] [--corpus DIR] [flags]",
         "Trains a Soup-of-Experts bank (--kind soup), a dense baseline (--kind dense) or a sparse\n"
         "mixture-of-experts (--kind moe, Switch/GShard routing) on a corpus (a folder of domain\n"
         "folders). Without --corpus the demo corpus is used (built from text on this machine\n"
         "on first use). Flags override the config file.");
  a.flag("config", "FILE", "JSON run config {\"model\":{},\"bank\":{},\"moe\":{},\"train\":{}}")
      .flag("corpus", "DIR", "corpus folder", "the demo corpus")
      .flag("cache-dir", "DIR", "token cache folder", "the user's cache dir")
      .flag("kind", "soup|dense|moe", "what to train", d.train.kind)
      .flag("mixture", "H", "dense and moe: domain weights to train on (e.g. code_c=1 for an oracle)", "uniform")
      .flag("steps", "N", "optimiser steps", std::to_string(d.train.steps))
      .flag("batch", "N", "sequences per step", std::to_string(d.train.batch_size))
      .flag("lr", "X", "peak learning rate", std::to_string(d.train.lr))
      .flag("warmup", "N", "warm-up steps", std::to_string(d.train.warmup_steps))
      .flag("weight-decay", "X", "AdamW weight decay", std::to_string(d.train.weight_decay))
      .flag("grad-clip", "X", "gradient norm clip (0 = off)", std::to_string(d.train.grad_clip))
      .flag("layers", "N", "transformer blocks", std::to_string(d.model.n_layer))
      .flag("width", "N", "model width n_embd", std::to_string(d.model.n_embd))
      .flag("heads", "N", "attention heads", std::to_string(d.model.n_head))
      .flag("context", "N", "context length in bytes", std::to_string(d.model.block_size))
      .flag("experts", "N", "number of experts: n of the soup, or E per block of a moe", std::to_string(d.bank.n_experts))
      .flag("coef-hidden", "N", "hidden width of the coefficient MLP", std::to_string(d.bank.coef_hidden))
      .flag("expert-lr-scale", "X", "soup: learning rate of the experts, times --lr", std::to_string(d.bank.expert_lr_scale))
      .flag("coef-lr-scale", "X", "soup: learning rate of the coefficient MLP, times --lr", std::to_string(d.bank.coef_lr_scale))
      .flag("top-k", "K", "moe: experts per token, 1 (Switch) or 2 (GShard)", std::to_string(d.moe.top_k))
      .flag("moe-every", "N", "moe: every N-th block has experts (1 = all, 2 = every other)", std::to_string(d.moe.every))
      .flag("capacity-train", "X", "moe: capacity factor in training", std::to_string(d.moe.capacity_factor_train))
      .flag("capacity-eval", "X", "moe: capacity factor in evaluation", std::to_string(d.moe.capacity_factor_eval))
      .flag("balance-coef", "X", "moe: load-balancing loss coefficient a", std::to_string(d.moe.balance_coef))
      .flag("z-loss-coef", "X", "moe: router z-loss coefficient", std::to_string(d.moe.z_loss_coef))
      .flag("meta", "NAME", "meta-distribution: sparse_dirichlet | dirichlet | onehot", d.train.meta_distribution)
      .flag("support-max", "N", "largest support of the sparse Dirichlet", std::to_string(d.train.support_max))
      .flag("device", "DEV", "auto | cpu | cuda | cuda:N", d.train.device)
      .flag("threads", "N", "CPU threads (0 = libtorch default)", "0")
      .flag("seed", "N", "random seed", std::to_string(d.train.seed))
      .flag("log-interval", "N", "report train loss every N steps", std::to_string(d.train.log_interval))
      .flag("eval-interval", "N", "per-domain validation every N steps", std::to_string(d.train.eval_interval))
      .flag("eval-windows", "N", "validation windows per domain", std::to_string(d.train.eval_windows))
      .flag("checkpoint-interval", "N", "checkpoint every N steps", std::to_string(d.train.checkpoint_interval))
      .flag("keep", "K", "checkpoints to keep", std::to_string(d.train.keep_checkpoints))
      .flag("out", "DIR", "checkpoint folder", "<data dir>/runs/run-<id>")
      .flag("name", "TEXT", "run name in the run log", "kind and time")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("print-config", "print the resulting config as JSON and exit")
      .option("quiet", "no progress output");
  return a;
}

RunConfig config_from(const Args& a) {
  RunConfig c;
  if (a.has("config")) c = parse_run_config(read_file(a.get("config")), a.get("config"));
  auto& m = c.model;
  auto& b = c.bank;
  auto& t = c.train;
  t.corpus_dir = a.get("corpus", t.corpus_dir);
  t.cache_dir = a.get("cache-dir", t.cache_dir);
  t.kind = a.get("kind", t.kind);
  t.steps = a.get_int("steps", t.steps);
  t.batch_size = int(a.get_int("batch", t.batch_size));
  t.lr = a.get_double("lr", t.lr);
  t.warmup_steps = a.get_int("warmup", t.warmup_steps);
  t.weight_decay = a.get_double("weight-decay", t.weight_decay);
  t.grad_clip = a.get_double("grad-clip", t.grad_clip);
  m.n_layer = int(a.get_int("layers", m.n_layer));
  m.n_embd = int(a.get_int("width", m.n_embd));
  m.n_head = int(a.get_int("heads", m.n_head));
  m.block_size = int(a.get_int("context", m.block_size));
  auto& moe = c.moe;
  if (t.kind == "moe") moe.n_experts = int(a.get_int("experts", moe.n_experts));
  else b.n_experts = int(a.get_int("experts", b.n_experts));
  moe.top_k = int(a.get_int("top-k", moe.top_k));
  moe.every = int(a.get_int("moe-every", moe.every));
  moe.capacity_factor_train = a.get_double("capacity-train", moe.capacity_factor_train);
  moe.capacity_factor_eval = a.get_double("capacity-eval", moe.capacity_factor_eval);
  moe.balance_coef = a.get_double("balance-coef", moe.balance_coef);
  moe.z_loss_coef = a.get_double("z-loss-coef", moe.z_loss_coef);
  b.coef_hidden = int(a.get_int("coef-hidden", b.coef_hidden));
  b.expert_lr_scale = a.get_double("expert-lr-scale", b.expert_lr_scale);
  b.coef_lr_scale = a.get_double("coef-lr-scale", b.coef_lr_scale);
  t.meta_distribution = a.get("meta", t.meta_distribution);
  t.support_max = int(a.get_int("support-max", t.support_max));
  t.device = a.get("device", t.device);
  t.threads = int(a.get_int("threads", t.threads));
  t.seed = uint64_t(a.get_int("seed", int64_t(t.seed)));
  t.log_interval = a.get_int("log-interval", t.log_interval);
  t.eval_interval = a.get_int("eval-interval", t.eval_interval);
  t.eval_windows = int(a.get_int("eval-windows", t.eval_windows));
  t.checkpoint_interval = a.get_int("checkpoint-interval", t.checkpoint_interval);
  t.keep_checkpoints = int(a.get_int("keep", t.keep_checkpoints));
  t.out_dir = a.get("out", t.out_dir);
  t.run_name = a.get("name", t.run_name);
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

int train_to_end(Trainer& trainer, ProgressBar& bar, const TrainCallbacks& cb) {
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  const TrainOutcome outcome = trainer.run(cb);
  bar.finish();
  std::printf("run %lld %s at step %lld; last checkpoint: %s\n",
              static_cast<long long>(trainer.run_id()),
              outcome == TrainOutcome::kFinished ? "finished" : "stopped",
              static_cast<long long>(trainer.step()), trainer.last_checkpoint().c_str());
  return outcome == TrainOutcome::kFinished ? 0 : 130;
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
  Args a = train_args();
  if (!a.parse(argc, argv, 2)) return 0;
  if (!a.positional().empty()) throw Error("train: unexpected argument \"" + a.positional()[0] + "\"");
  RunConfig c = config_from(a);
  ProgressBar bar(a.has("quiet"));
  if (c.train.corpus_dir.empty()) c.train.corpus_dir = ensure_demo_corpus(bar);
  if (a.has("mixture")) {
    if (c.train.kind == "soup") throw Error("train: --mixture applies to --kind dense or moe only");
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
  auto trainer = Trainer::start_new(c, a.get("run-log"), cb);
  return train_to_end(*trainer, bar, cb);
}

int cmd_resume(int argc, char** argv) {
  Args a("resume", "souplab-cli resume CHECKPOINT [--steps N]",
         "Continues the run of CHECKPOINT exactly where it stopped (same run id, same data order).");
  a.flag("steps", "N", "train until this total step count (raise it to train longer)", "the run's own")
      .flag("run-log", "FILE", "SQLite run log", "the one recorded in the checkpoint")
      .option("quiet", "no progress output");
  if (!a.parse(argc, argv, 2)) return 0;
  const std::string ckpt = a.positional_at(0, "CHECKPOINT");
  ProgressBar bar(a.has("quiet"));
  TrainCallbacks cb = callbacks_for(bar);
  auto trainer = Trainer::resume(ckpt, a.get("run-log"), cb, a.get_int("steps", 0));
  return train_to_end(*trainer, bar, cb);
}

}  // namespace souplab::cli
