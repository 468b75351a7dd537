#include "souplab/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "engine/core/memory_estimate.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "engine/core/sampler.h"
#include "engine/nn/adamw.h"
#include "engine/nn/checkpoint.h"
#include "souplab/device.h"
#include "engine/nn/gpt.h"
#include "engine/nn/make_model.h"
#include "engine/nn/validation.h"

namespace souplab {
namespace fs = std::filesystem;

double learning_rate_at(const TrainConfig& c, int64_t step) {
  const double min_lr = c.lr * c.min_lr_ratio;
  if (step < c.warmup_steps) return c.lr * double(step + 1) / double(c.warmup_steps);
  if (step >= c.steps) return min_lr;
  const double progress =
      double(step - c.warmup_steps) / double(std::max<int64_t>(1, c.steps - c.warmup_steps));
  return min_lr + 0.5 * (1.0 + std::cos(M_PI * progress)) * (c.lr - min_lr);
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void notify(const TrainCallbacks& cb, const std::string& message) {
  if (cb.on_message) cb.on_message(message);
}

std::string checkpoint_name(int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "step_%08lld.ckpt", static_cast<long long>(step));
  return buf;
}

bool is_checkpoint_file(const fs::path& p) {
  return p.filename().string().rfind("step_", 0) == 0 && p.extension() == ".ckpt";
}

// A new run keeps only its last K checkpoints by deleting older step_*.ckpt files in its
// folder, so starting one in a folder that holds another run's checkpoints would delete them
// (or, if theirs have higher steps, the new run's own). Refuse instead of losing data.
void require_no_checkpoints(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_checkpoint_file(e.path()))
      throw Error(dir + ": already holds checkpoints (" + e.path().filename().string() +
                  "); start a new run in an empty folder, or resume that run");
}

class TrainerImpl final : public Trainer {
 public:
  TrainerImpl(RunConfig config, const std::string& run_log_path, const TrainCallbacks& cb)
      : config_(std::move(config)), device_(torch::kCPU) {
    validate(config_);
    if (!config_.train.out_dir.empty()) require_no_checkpoints(config_.train.out_dir);
    set_torch_threads(config_.train.threads);
    const DeviceChoice dev = select_device(config_.train.device);
    device_ = torch::Device(dev.device);
    notify(cb, dev.message);
    open_corpus(cb);
    // Dense and MoE runs have no soup experts; clearing n keeps the config honest for readers.
    if (config_.train.kind != ModelKind::kSoup) config_.bank.n_experts = 0;
    if (config_.bank.n_domains == 0) config_.bank.n_domains = int(domains_.size());
    if (config_.bank.n_domains != int(domains_.size()))
      throw Error("bank.n_domains is " + std::to_string(config_.bank.n_domains) + " but the corpus " +
                  config_.train.corpus_dir + " has " + std::to_string(domains_.size()) + " domains");
    init_mixture();
    check_training_memory(config_, int(domains_.size()), "train");  // refuse before allocating

    bank_ = make_model(config_, int(domains_.size()), device_);
    bank_->init(config_.train.seed);
    if (!config_.train.init_from.empty()) init_shared_from(config_.train.init_from, cb);
    make_optimizer();
    sampler_ = std::make_unique<BatchSampler>(cache_, config_.model.block_size, config_.train.seed + 1);

    open_log(run_log_path.empty() ? default_run_log_path() : run_log_path);
    run_name_ = config_.train.run_name.empty()
                    ? std::string(model_kind_name(config_.train.kind)) + " " + iso8601_utc_now()
                    : config_.train.run_name;
    RunInfo info;
    info.name = run_name_;
    info.kind = model_kind_name(config_.train.kind);
    info.config_json = to_json(config_);
    run_id_ = log_->create_run(info);
    if (config_.train.out_dir.empty())
      config_.train.out_dir = default_runs_dir() + "/run-" + std::to_string(run_id_);
    ensure_directory(config_.train.out_dir);
    log_->set_run_status(run_id_, "running");
    std::vector<std::pair<std::string, int64_t>> doms;
    for (const auto& d : cache_->domains()) doms.emplace_back(d.name, int64_t(d.train_tokens));
    log_->set_domains(run_id_, doms);
    log_->log_event(run_id_, "train", nlohmann::json{{"run_dir", config_.train.out_dir}}.dump());
    notify(cb, "run " + std::to_string(run_id_) + " (" + run_name_ + "): " +
                   std::to_string(param_counts(config_, int(domains_.size())).total) +
                   " trained parameters, checkpoints in " + config_.train.out_dir);
  }

  // Resume constructor.
  TrainerImpl(LoadedCheckpoint ck, const std::string& ckpt_path, const std::string& run_log_path,
              const TrainCallbacks& cb, int64_t total_steps_override)
      : config_(ck.state.config), device_(torch::kCPU) {
    set_torch_threads(config_.train.threads);
    if (total_steps_override > 0) {
      if (total_steps_override < ck.state.step)
        throw Error(ckpt_path + ": asked to train to step " + std::to_string(total_steps_override) +
                    " but the checkpoint is already at step " + std::to_string(ck.state.step));
      config_.train.steps = total_steps_override;
    }
    check_training_memory(config_, int(ck.state.domains.size()), ckpt_path);
    const DeviceChoice dev = select_device(config_.train.device);
    device_ = torch::Device(dev.device);
    notify(cb, dev.message);
    open_corpus(cb);
    if (domains_ != ck.state.domains)
      throw file_error(ckpt_path, "its domains differ from those of the corpus " + config_.train.corpus_dir);
    if (cache_->content_hash() != ck.state.corpus_hash)
      notify(cb, "warning: the corpus changed since this checkpoint was written; the run "
                 "continues on the new data, so it will not repeat the original run exactly");
    init_mixture();
    bank_ = ck.bank->device() == device_ ? std::move(ck.bank) : nullptr;
    if (!bank_) {  // checkpoint loaded on another device: reload here
      ck = load_checkpoint(ckpt_path, device_, true);
      bank_ = std::move(ck.bank);
    }
    make_optimizer();
    optimizer_->set_step_count(ck.optimizer_step);
    for (size_t i = 0; i < ck.exp_avg.size(); ++i) {
      optimizer_->exp_avg()[i].copy_(ck.exp_avg[i]);
      optimizer_->exp_avg_sq()[i].copy_(ck.exp_avg_sq[i]);
    }
    sampler_ = std::make_unique<BatchSampler>(cache_, config_.model.block_size, 0);
    sampler_->set_state(ck.state.sampler_state);
    step_ = ck.state.step;
    elapsed_s_ = ck.state.elapsed_s;
    run_id_ = ck.state.run_id;
    run_name_ = ck.state.run_name;
    last_checkpoint_ = ckpt_path;
    std::string log_path = run_log_path;
    if (log_path.empty()) log_path = ck.state.run_log_path;
    if (log_path.empty()) log_path = default_run_log_path();
    open_log(log_path);
    try {
      log_->get_run(run_id_);
    } catch (const Error&) {
      // The run log lost this run (another machine, deleted log): log it anew.
      RunInfo info;
      info.name = run_name_;
      info.kind = model_kind_name(config_.train.kind);
      info.config_json = to_json(config_);
      run_id_ = log_->create_run(info);
      notify(cb, "run not found in " + log_path + "; logged as new run " + std::to_string(run_id_));
    }
    ensure_directory(config_.train.out_dir);
    log_->set_run_status(run_id_, "running");
    log_->log_event(run_id_, "resume",
                    nlohmann::json{{"checkpoint", ckpt_path}, {"step", step_}}.dump());
    notify(cb, "resumed run " + std::to_string(run_id_) + " at step " + std::to_string(step_) +
                   " of " + std::to_string(config_.train.steps));
  }

  TrainOutcome run(const TrainCallbacks& cb) override {
    try {
      return run_loop(cb);
    } catch (...) {
      try {
        log_->set_run_status(run_id_, "failed", iso8601_utc_now());
      } catch (...) {
      }
      throw;
    }
  }

  std::string save_checkpoint() override {
    TrainState s;
    s.config = config_;
    s.domains = domains_;
    s.step = step_;
    s.run_id = run_id_;
    s.run_name = run_name_;
    s.sampler_state = sampler_->state();
    s.elapsed_s = elapsed_s_;
    s.corpus_hash = cache_->content_hash();
    s.run_log_path = log_->path();
    const std::string path = config_.train.out_dir + "/" + checkpoint_name(step_);
    souplab::save_checkpoint(path, *bank_, optimizer_.get(), s);
    last_checkpoint_ = path;
    log_->set_checkpoint(run_id_, path, step_);
    prune_checkpoints();
    return path;
  }

  int64_t run_id() const override { return run_id_; }
  int64_t step() const override { return step_; }
  const RunConfig& config() const override { return config_; }
  const std::vector<std::string>& domain_names() const override { return domains_; }
  std::string run_dir() const override { return config_.train.out_dir; }
  std::string device() const override { return device_.str(); }
  std::string last_checkpoint() const override { return last_checkpoint_; }

 private:
  void open_corpus(const TrainCallbacks& cb) {
    CorpusOptions opts;
    opts.cache_dir = config_.train.cache_dir;
    opts.min_domain_tokens = uint64_t(config_.model.block_size) + 1;
    if (config_.train.corpus_dir.empty()) throw Error("no corpus folder given (train.corpus_dir)");
    cache_ = TokenCache::open(config_.train.corpus_dir, opts,
                              [&](size_t i, size_t n, const std::string& m) {
                                notify(cb, "corpus " + std::to_string(i + 1) + "/" +
                                               std::to_string(n) + ": " + m);
                              });
    domains_ = cache_->domain_names();
    val_ = load_validation_windows(*cache_, config_.model.block_size, config_.train.eval_windows);
  }

  // S <- the parameters of a trained model of the same size (train.init_from).
  void init_shared_from(const std::string& path, const TrainCallbacks& cb) {
    auto source = Model::load(path, "cpu");
    const ModelConfig& m = source->facts().config.model;
    const ModelConfig& want = config_.model;
    if (m.n_layer != want.n_layer || m.n_embd != want.n_embd || m.n_head != want.n_head ||
        m.block_size != want.block_size)
      throw file_error(path, "init_from: its model (" + std::to_string(m.n_layer) + " layers, width " +
                                 std::to_string(m.n_embd) + ", context " + std::to_string(m.block_size) +
                                 ") differs from this run's");
    const std::vector<float> theta = source->instantiate_dense(source->facts().training_mixture)->parameters();
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : bank_->named_parameters())
      if (name == "S" || name == "theta")
        t.copy_(torch::from_blob(const_cast<float*>(theta.data()), {int64_t(theta.size())}).to(t.device()));
    set_torch_threads(config_.train.threads);  // Model::load set its own
    notify(cb, "S starts from " + path);
  }

  void init_mixture() {
    const size_t k = domains_.size();
    pi_ = parse_meta_distribution(config_.train.meta_distribution);
    dense_h_ = config_.train.mixture.empty() ? uniform_domain_weights(k)
                                             : normalize_domain_weights(config_.train.mixture, k);
  }

  void make_optimizer() {
    std::vector<torch::Tensor> params;
    for (const auto& [name, t] : bank_->named_parameters()) params.push_back(t);
    AdamWOptions o;
    o.beta1 = config_.train.beta1;
    o.beta2 = config_.train.beta2;
    o.eps = config_.train.adam_eps;
    o.weight_decay = config_.train.weight_decay;
    optimizer_ = std::make_unique<AdamW>(params, bank_->decay_masks(), o, bank_->lr_scales());
    params_ = params;
  }

  void open_log(const std::string& path) { log_ = std::make_unique<RunLog>(path); }

  // One optimiser step; returns the (device) LM loss and the model's other train metrics.
  TrainingLoss train_step(double lr) {
    const auto& tc = config_.train;
    const int B = tc.batch_size, T = config_.model.block_size;
    // Soups draw h_per_step mixtures from pi, each for an equal share of the batch (one: the
    // whole batch from one h). A dense run draws from its fixed mixture, or from pi as the
    // soup does when train.dense_mixture is "sampled" (the skewed-batch diagnostic).
    const bool sampled = bank_->trains_on_sampled_h() || tc.dense_mixture == "sampled";
    const int groups = sampled ? h_groups_per_step(tc) : 1, rows = B / groups;
    auto host = torch::empty({B, T + 1}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(
                                             device_.is_cuda()));
    std::vector<std::vector<double>> hs;
    for (int g = 0; g < groups; ++g) {
      hs.push_back(sampled ? sampler_->sample_h(pi_, tc.support_max) : dense_h_);
      sampler_->sample_batch(hs.back(), rows, host.data_ptr<uint8_t>() + int64_t(g) * rows * (T + 1));
    }
    auto batch = host.to(device_, /*non_blocking=*/true).to(torch::kInt64);  // (B, T+1)
    auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
    optimizer_->zero_grad();
    TrainingLoss loss = bank_->training_loss(hs, x, y);
    loss.loss.backward();
    FactoredGrad factored;
    if (loss.after_backward) factored = loss.after_backward();
    const double scale = grad_clip_scale(params_, tc.grad_clip, nullptr, factored.defined() ? factored.squared_norm() : 0);
    if (factored.defined()) optimizer_->set_factored_grad(loss.factored_index, std::move(factored));
    optimizer_->step(lr, scale);
    loss.lm = loss.lm.detach();
    loss.loss = torch::Tensor();  // frees the graph now
    loss.after_backward = nullptr;
    return loss;
  }

  // Evaluates and logs; `rows` starts with the model's extra rows (e.g. MoE expert load).
  EvalResult evaluate_and_log() {
    std::vector<Metric> rows;
    EvalResult r = bank_->evaluate(val_, step_, &rows);
    const bool soup = !r.loss_specialist.empty();
    for (size_t i = 0; i < r.domains.size(); ++i) {
      rows.push_back({r.step, "val", r.domains[i], soup ? "loss_uniform" : "loss", r.loss_uniform[i], 0});
      if (soup) rows.push_back({r.step, "val", r.domains[i], "loss_specialist", r.loss_specialist[i], 0});
    }
    log_->log_metrics(run_id_, rows);
    return r;
  }

  void prune_checkpoints() {
    std::vector<fs::path> ckpts;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(config_.train.out_dir, ec)) {
      if (is_checkpoint_file(e.path())) ckpts.push_back(e.path());
    }
    std::sort(ckpts.begin(), ckpts.end());
    const size_t keep = size_t(std::max(1, config_.train.keep_checkpoints));
    for (size_t i = 0; i + keep < ckpts.size(); ++i) fs::remove(ckpts[i], ec);
  }

  TrainOutcome run_loop(const TrainCallbacks& cb) {
    const auto& tc = config_.train;
    const int64_t tokens_per_step = int64_t(tc.batch_size) * config_.model.block_size;
    if (step_ == 0) {
      EvalResult r = evaluate_and_log();
      if (cb.on_eval) cb.on_eval(r);
    }
    const int64_t first_step = step_;
    double session_s = 0;  // training time in this call, pauses excluded
    double window_s = 0;
    int64_t window_steps = 0;
    auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    std::vector<std::pair<std::string, torch::Tensor>> metric_sums;  // the model's extra metrics
    while (step_ < tc.steps) {
      if (cb.should_stop && cb.should_stop()) {
        const std::string path = save_checkpoint();
        log_->set_run_status(run_id_, "stopped", iso8601_utc_now());
        if (cb.on_checkpoint) cb.on_checkpoint(path, step_);
        notify(cb, "stopped at step " + std::to_string(step_) + "; checkpoint " + path);
        return TrainOutcome::kStopped;
      }
      const auto t0 = Clock::now();
      const double lr = learning_rate_at(tc, step_);
      const TrainingLoss loss = train_step(lr);
      loss_sum += loss.lm.to(torch::kFloat64);
      if (metric_sums.empty())
        for (const auto& [name, v] : loss.metrics)
          metric_sums.emplace_back(name, torch::zeros_like(loss_sum));
      for (size_t i = 0; i < loss.metrics.size(); ++i)
        metric_sums[i].second += loss.metrics[i].second.to(torch::kFloat64);
      ++step_;
      ++window_steps;
      const bool last = step_ == tc.steps;
      if (step_ % tc.log_interval == 0 || last) {
        TrainProgress p;
        p.step = step_;
        p.total_steps = tc.steps;
        p.train_loss = loss_sum.item<double>() / double(window_steps);  // sync point
        p.lr = lr;
        window_s += seconds_since(t0);
        p.tokens_per_sec = double(window_steps * tokens_per_step) / std::max(window_s, 1e-9);
        session_s += window_s;
        elapsed_s_ += window_s;
        p.elapsed_s = elapsed_s_;
        p.eta_s = double(tc.steps - step_) * session_s / double(step_ - first_step);
        std::vector<Metric> rows{{step_, "train", "", "loss", p.train_loss, 0},
                                 {step_, "train", "", "lr", lr, 0},
                                 {step_, "train", "", "tokens_per_sec", p.tokens_per_sec, 0}};
        for (auto& [name, sum] : metric_sums) {
          rows.push_back({step_, "train", "", name, sum.item<double>() / double(window_steps), 0});
          sum.zero_();
        }
        log_->log_metrics(run_id_, rows);
        if (cb.on_progress) cb.on_progress(p);
        loss_sum.zero_();
        window_steps = 0;
        window_s = 0;
      } else {
        window_s += seconds_since(t0);
      }
      if (step_ % tc.eval_interval == 0 || last) {
        EvalResult r = evaluate_and_log();
        if (cb.on_eval) cb.on_eval(r);
      }
      if (step_ % tc.checkpoint_interval == 0 || last) {
        const std::string path = save_checkpoint();
        if (cb.on_checkpoint) cb.on_checkpoint(path, step_);
      }
    }
    log_->set_run_status(run_id_, "finished", iso8601_utc_now());
    return TrainOutcome::kFinished;
  }

  RunConfig config_;
  torch::Device device_;
  std::shared_ptr<const TokenCache> cache_;
  std::vector<std::string> domains_;
  std::vector<DomainWindows> val_;
  std::unique_ptr<TrainableModel> bank_;  // the model of the run's kind
  std::unique_ptr<AdamW> optimizer_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<BatchSampler> sampler_;
  MetaDistribution pi_ = MetaDistribution::kSparseDirichlet;
  std::vector<double> dense_h_;
  std::unique_ptr<RunLog> log_;
  int64_t run_id_ = 0;
  std::string run_name_;
  int64_t step_ = 0;
  double elapsed_s_ = 0;
  std::string last_checkpoint_;
};

}  // namespace

std::unique_ptr<Trainer> Trainer::start_new(RunConfig config, const std::string& run_log_path,
                                            const TrainCallbacks& callbacks) {
  return std::make_unique<TrainerImpl>(std::move(config), run_log_path, callbacks);
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& checkpoint_path,
                                         const std::string& run_log_path,
                                         const TrainCallbacks& callbacks,
                                         int64_t total_steps_override) {
  LoadedCheckpoint ck = load_checkpoint(checkpoint_path, torch::kCPU, true);
  return std::make_unique<TrainerImpl>(std::move(ck), checkpoint_path, run_log_path, callbacks,
                                       total_steps_override);
}

}  // namespace souplab
