#pragma once
// Training for the quality benchmarks: train a run config, or reuse the checkpoint of an
// identical earlier run (same whole configuration) kept under <work>/models, so a benchmark can
// be re-run to add models without retraining the others.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_common.h"
#include "souplab/config.h"
#include "souplab/trainer.h"

namespace bench {

struct Trained {
  std::string name, kind, ckpt;
  double train_s = 0;
  bool reused = false;
  // With keep_every > 0: the checkpoints at every keep_every steps, (step, path), ascending.
  std::vector<std::pair<int64_t, std::string>> intermediate;
};

// A dense model has no experts: the soup's bank settings and h per step (defaults that change as
// the soup is tuned) do not change what it trains, unless it samples mixtures like a soup.
inline void drop_what_dense_ignores(nlohmann::json& j) {
  if (j.value(nlohmann::json::json_pointer("/train/kind"), std::string()) != "dense") return;
  for (const char* key : {"alpha_centered", "alpha_init_l1", "coef_hidden", "coef_lr_scale", "expert_init_scale",
                          "expert_lr_scale", "expert_lr_scale_start", "expert_rank"})
    if (j.contains("bank")) j["bank"].erase(key);
  if (j.value(nlohmann::json::json_pointer("/train/dense_mixture"), std::string("fixed")) != "sampled" && j.contains("train"))
    j["train"].erase("h_per_step");
}

// The configuration as text, as the reuse key: runs of other kinds ignore the "moe" section,
// so leaving it out keeps models trained before the section existed reusable.
inline std::string config_key(const souplab::RunConfig& cfg) {
  auto j = nlohmann::json::parse(souplab::to_json(cfg));
  if (cfg.train.kind != souplab::ModelKind::kMoe) j.erase("moe");
  drop_what_dense_ignores(j);
  return j.dump(2);
}

// Whether a stored key describes the same run as `key`. Keys that do not change what is trained
// (threads, logging, evaluation and checkpoint intervals) are ignored. Config keys added after
// a model was trained are absent from its stored key; the model counts as the same run when the
// current value of each such key is the one every run had before the key existed.
inline bool same_run(const std::string& stored, const std::string& key) {
  if (stored == key) return true;
  static const std::vector<std::pair<const char*, nlohmann::json>> kAdded = {
      {"/train/h_per_step", 1}, {"/train/dense_mixture", "fixed"}, {"/train/init_from", ""},
      {"/bank/expert_rank", 0}, {"/bank/alpha_centered", 0}, {"/bank/expert_lr_scale_start", 0}, {"/train/domain_prior", "uniform"}};
  nlohmann::json a, b;
  try {
    a = nlohmann::json::parse(stored);
    b = nlohmann::json::parse(key);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  for (auto* j : {&a, &b}) drop_what_dense_ignores(*j);
  for (const char* path : {"/train/threads", "/train/log_interval", "/train/eval_interval",
                           "/train/checkpoint_interval", "/train/keep_checkpoints"}) {
    const nlohmann::json::json_pointer p(path);
    for (auto* j : {&a, &b})
      if (j->contains(p)) j->at(p.parent_pointer()).erase(p.back());
  }
  for (const auto& [path, legacy] : kAdded) {
    const nlohmann::json::json_pointer p(path);
    if (!a.contains(p) && b.contains(p) && b.at(p) == legacy) b.at(p.parent_pointer()).erase(p.back());
  }
  return a == b;
}

// Trains `cfg` under <work>/runs/<name> (or reuses <work>/models/<name>.ckpt when its recorded
// configuration is identical and `fresh` is false). keep_every > 0 also keeps a checkpoint every
// keep_every steps (for curves over steps), as <work>/models/<name>.step<N>.ckpt.
inline Trained train_or_reuse(const std::string& name, souplab::RunConfig cfg, const std::string& work,
                              bool fresh, int64_t keep_every = 0) {
  namespace fs = std::filesystem;
  const fs::path models = fs::path(work) / "models";
  fs::create_directories(models);
  fs::create_directories(fs::path(work) / "runlogs");
  cfg.train.out_dir = (fs::path(work) / "runs" / name).string();
  cfg.train.run_name = "bench " + name;
  if (keep_every > 0) {
    cfg.train.checkpoint_interval = keep_every;
    cfg.train.keep_checkpoints = int(cfg.train.steps / keep_every + 2);
  }
  const std::string key = config_key(cfg);
  const fs::path ckpt = models / (name + ".ckpt"), meta = models / (name + ".json"),
                 tfile = models / (name + ".time");
  Trained t{name, souplab::model_kind_name(cfg.train.kind), ckpt.string()};
  auto intermediate_path = [&](int64_t step) {
    return (models / (name + ".step" + std::to_string(step) + ".ckpt")).string();
  };
  auto list_intermediate = [&]() {
    t.intermediate.clear();
    if (keep_every <= 0) return true;
    for (int64_t s = keep_every; s < cfg.train.steps; s += keep_every) {
      if (!fs::exists(intermediate_path(s))) return false;
      t.intermediate.emplace_back(s, intermediate_path(s));
    }
    t.intermediate.emplace_back(cfg.train.steps, ckpt.string());
    return true;
  };
  if (!fresh && fs::exists(ckpt) && fs::exists(meta) && same_run(read_file(meta.string()), key) &&
      list_intermediate()) {
    t.train_s = std::stod(read_file(tfile.string()));
    t.reused = true;
    std::fprintf(stderr, "[%s] reusing %s (trained in %.0f s)\n", name.c_str(), ckpt.c_str(), t.train_s);
    return t;
  }
  // An interrupted training of the same run resumes from its last checkpoint (the trainer's
  // resume is exact), so long ladder runs survive a stopped machine.
  const fs::path pending = models / (name + ".pending.json");
  std::string resume_from;
  if (!fresh && fs::exists(pending) && same_run(read_file(pending.string()), key) && fs::exists(cfg.train.out_dir))
    for (const auto& e : fs::directory_iterator(cfg.train.out_dir))
      if (e.path().extension() == ".ckpt" && e.path().string() > resume_from) resume_from = e.path().string();
  if (resume_from.empty()) {
    fs::remove_all(cfg.train.out_dir);
    std::ofstream(pending) << key;
    std::fprintf(stderr, "[%s] training %s, %lld steps...\n", name.c_str(), souplab::model_kind_name(cfg.train.kind),
                 (long long)cfg.train.steps);
  } else {
    std::fprintf(stderr, "[%s] resuming %s from %s\n", name.c_str(), souplab::model_kind_name(cfg.train.kind),
                 resume_from.c_str());
  }
  souplab::TrainCallbacks cb;
  double elapsed = 0;
  cb.on_progress = [&](const souplab::TrainProgress& p) {
    elapsed = p.elapsed_s;
    std::fprintf(stderr, "[%s] step %lld/%lld loss %.3f lr %.2e %.0f tok/s eta %.0f s\n", name.c_str(),
                 (long long)p.step, (long long)p.total_steps, p.train_loss, p.lr, p.tokens_per_sec, p.eta_s);
  };
  cb.on_checkpoint = [&](const std::string& path, int64_t step) {
    if (keep_every > 0 && step < cfg.train.steps && step % keep_every == 0)
      fs::copy_file(path, intermediate_path(step), fs::copy_options::overwrite_existing);
  };
  const std::string run_log = (fs::path(work) / "runlogs" / (name + ".sqlite")).string();
  auto trainer = resume_from.empty() ? souplab::Trainer::start_new(cfg, run_log, cb)
                                     : souplab::Trainer::resume(resume_from, run_log, cb);
  trainer->run(cb);
  t.train_s = elapsed;  // training time over every part (the trainer's own count), pauses excluded
  fs::copy_file(trainer->last_checkpoint(), ckpt, fs::copy_options::overwrite_existing);
  trainer.reset();
  fs::remove_all(cfg.train.out_dir);
  std::ofstream(meta) << key;
  std::ofstream(tfile) << t.train_s;
  fs::remove(pending);
  list_intermediate();
  std::fprintf(stderr, "[%s] trained in %.0f s\n", name.c_str(), t.train_s);
  return t;
}

}  // namespace bench
