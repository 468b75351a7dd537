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
#include "engine/cuda/cuda_build.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "engine/core/sampler.h"
#include "engine/nn/adamw.h"
#include "engine/nn/checkpoint.h"
#include "engine/nn/dist/collective.h"
#include "engine/nn/dist/gradient_sync.h"
#include "engine/nn/dist/sharded_soup.h"
#include "souplab/device.h"
#include "engine/nn/gpt.h"
#include "engine/nn/make_model.h"
#include "engine/nn/torch_compat.h"
#include "engine/nn/validation.h"
#include "souplab/param_layout.h"

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
  TrainerImpl(RunConfig config, const std::string& run_log_path, const TrainCallbacks& cb,
              const DistributedOptions& dist)
      : config_(std::move(config)), device_(torch::kCPU) {
    validate(config_);
    if (!config_.train.out_dir.empty()) require_no_checkpoints(config_.train.out_dir);
    set_torch_threads(config_.train.threads);
    choose_device(cb, dist);
    join_job(dist, cb);
    open_corpus_in_turn(cb);
    // Dense and MoE runs have no soup experts; clearing n keeps the config honest for readers.
    if (config_.train.kind != ModelKind::kSoup) config_.bank.n_experts = 0;
    if (config_.bank.n_domains == 0) config_.bank.n_domains = int(domains_.size());
    if (config_.bank.n_domains != int(domains_.size()))
      throw Error("bank.n_domains is " + std::to_string(config_.bank.n_domains) + " but the corpus " +
                  config_.train.corpus_dir + " has " + std::to_string(domains_.size()) + " domains");
    init_mixture();
    if (coll_) coll_->require_same("config", to_json(config_));
    check_rows_split();
    check_memory(cb, int(domains_.size()), "train");  // refuse before allocating

    make_bank(dist.shard_bank);
    bank_->init(config_.train.seed);
    if (!config_.train.init_from.empty()) init_shared_from(config_.train.init_from, cb);
    make_optimizer();
    sampler_ = std::make_unique<BatchSampler>(cache_, config_.model.block_size, config_.train.seed + 1);

    run_name_ = config_.train.run_name.empty()
                    ? std::string(model_kind_name(config_.train.kind)) + " " + iso8601_utc_now()
                    : config_.train.run_name;
    if (!writer()) {  // rank 0 logs the run and names its folder; the others take both from it
      run_id_ = std::stoll(coll_->from_rank0("run_id", ""));
      config_.train.out_dir = coll_->from_rank0("out_dir", "");
      return;
    }
    open_log(run_log_path);
    RunInfo info;
    info.name = run_name_;
    info.kind = model_kind_name(config_.train.kind);
    info.config_json = to_json(config_);
    run_id_ = log_->create_run(info);
    if (config_.train.out_dir.empty())
      config_.train.out_dir = default_runs_dir() + "/run-" + std::to_string(run_id_);
    ensure_directory(config_.train.out_dir);
    if (coll_) {
      coll_->from_rank0("run_id", std::to_string(run_id_));
      coll_->from_rank0("out_dir", config_.train.out_dir);
    }
    log_->set_run_status(run_id_, "running");
    std::vector<std::pair<std::string, int64_t>> doms;
    for (const auto& d : cache_->domains()) doms.emplace_back(d.name, int64_t(d.train_tokens));
    log_->set_domains(run_id_, doms);
    log_->log_event(run_id_, "train", nlohmann::json{{"run_dir", config_.train.out_dir},
                                                    {"world_size", world_size()},
                                                    {"shard_bank", shard_bank_ != nullptr}}.dump());
    notify(cb, "run " + std::to_string(run_id_) + " (" + run_name_ + "): " +
                   std::to_string(param_counts(config_, int(domains_.size())).total) +
                   " trained parameters, checkpoints in " + config_.train.out_dir);
  }

  // Resume constructor.
  TrainerImpl(LoadedCheckpoint ck, const std::string& ckpt_path, const std::string& run_log_path,
              const TrainCallbacks& cb, int64_t total_steps_override, const DistributedOptions& dist)
      : config_(ck.state.config), device_(torch::kCPU) {
    set_torch_threads(config_.train.threads);
    choose_device(cb, dist);
    join_job(dist, cb);
    if (total_steps_override > 0) {
      if (total_steps_override < ck.state.step)
        throw Error(ckpt_path + ": asked to train to step " + std::to_string(total_steps_override) +
                    " but the checkpoint is already at step " + std::to_string(ck.state.step));
      config_.train.steps = total_steps_override;
    }
    if (coll_) coll_->require_same("resumed run", to_json(config_) + " at step " + std::to_string(ck.state.step));
    check_rows_split();
    check_memory(cb, int(ck.state.domains.size()), ckpt_path);
    open_corpus_in_turn(cb);
    if (domains_ != ck.state.domains)
      throw file_error(ckpt_path, "its domains differ from those of the corpus " + config_.train.corpus_dir);
    if (cache_->content_hash() != ck.state.corpus_hash)
      notify(cb, "warning: the corpus changed since this checkpoint was written; the run "
                 "continues on the new data, so it will not repeat the original run exactly");
    init_mixture();
    if (ck.bank->device() != device_) ck = load_checkpoint(ckpt_path, device_, true);  // reload here
    if (dist.shard_bank) {  // keep this rank's columns of the whole bank the checkpoint holds
      make_bank(true);
      torch::NoGradGuard no_grad;
      const auto whole = ck.bank->named_parameters();
      const auto mine = bank_->named_parameters();
      for (size_t i = 0; i < mine.size(); ++i) {
        const bool split = mine[i].first == "S" || mine[i].first == "E";
        mine[i].second.copy_(split ? shard_bank_->own_columns(whole[i].second) : whole[i].second);
        if (split) {
          ck.exp_avg[i] = shard_bank_->own_columns(ck.exp_avg[i]);
          ck.exp_avg_sq[i] = shard_bank_->own_columns(ck.exp_avg_sq[i]);
        }
      }
    } else {
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
    if (!writer()) {
      run_id_ = std::stoll(coll_->from_rank0("run_id", ""));
      return;
    }
    std::string log_path = run_log_path;
    if (log_path.empty()) log_path = ck.state.run_log_path;
    log_path = run_log_path_or_default(log_path);
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
                    nlohmann::json{{"checkpoint", ckpt_path}, {"step", step_}, {"world_size", world_size()},
                                   {"shard_bank", shard_bank_ != nullptr}}.dump());
    if (coll_) coll_->from_rank0("run_id", std::to_string(run_id_));
    notify(cb, "resumed run " + std::to_string(run_id_) + " at step " + std::to_string(step_) +
                   " of " + std::to_string(config_.train.steps));
  }

  TrainOutcome run(const TrainCallbacks& cb) override {
    try {
      return run_loop(cb);
    } catch (...) {
      try {
        if (log_) log_->set_run_status(run_id_, "failed", iso8601_utc_now());
      } catch (...) {
      }
      rethrow_if_out_of_memory();
      throw;
    }
  }

  // Inside a handler: an allocation that failed despite the estimate at start (another process
  // took the GPU's memory, fragmentation) becomes an Error that names the run's size, the
  // estimate and the intact last checkpoint (written atomically), instead of libtorch's
  // allocator dump. Anything else returns, for the caller to rethrow as it is.
  void rethrow_if_out_of_memory() const {
    try {
      throw;
    } catch (const std::exception& e) {
      if (!is_out_of_memory(e)) return;
    } catch (...) {
      return;
    }
    const ModelConfig& m = config_.model;
    std::string msg = "out of memory on " + device_.str() + " at step " + std::to_string(step_) + " training L" +
                      std::to_string(m.n_layer) + " C" + std::to_string(m.n_embd) + " T" + std::to_string(m.block_size) +
                      " with " + std::to_string(config_.bank.n_experts) + " experts and batch " +
                      std::to_string(config_.train.batch_size) + " (estimated need about " +
                      format_bytes(estimate_training_bytes(config_, int(domains_.size()))) + ")";
    msg += last_checkpoint_.empty() ? "; no checkpoint was written yet"
                                    : "; the last checkpoint " + last_checkpoint_ + " is intact and resumes";
    throw Error(msg + "; try a smaller batch, context or model, or another device");
  }

  std::string save_checkpoint() override {
    const std::string path = config_.train.out_dir + "/" + checkpoint_name(step_);
    // A sharded bank is gathered whole on rank 0 (every rank takes part), so any number of
    // ranks, sharded or not, resumes it.
    std::unique_ptr<SoupBank> whole_bank;
    std::unique_ptr<AdamW> whole_optimizer;
    if (shard_bank_) gather_whole_state(&whole_bank, &whole_optimizer);
    if (!writer()) return last_checkpoint_ = path;  // every rank holds the same state; rank 0 writes it
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
    if (whole_bank) souplab::save_checkpoint(path, *whole_bank, whole_optimizer.get(), s);
    else souplab::save_checkpoint(path, *bank_, optimizer_.get(), s);
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
  int world_size() const override { return coll_ ? coll_->world_size() : 1; }
  std::string last_checkpoint() const override { return last_checkpoint_; }

 private:
  bool writer() const { return !coll_ || coll_->rank() == 0; }

  // One rank of a data-parallel job: meet the others before anything is written.
  void join_job(const DistributedOptions& dist, const TrainCallbacks& cb) {
    if (!dist.active()) return;
    notify(cb, "rank " + std::to_string(dist.rank) + " of " + std::to_string(dist.world_size) +
                   ": joining the job at " + dist.master_addr + ":" + std::to_string(dist.master_port));
    coll_ = Collective::join(dist, device_);
  }

  // The run's memory estimate against what its device has free (the GPU's own memory on CUDA):
  // refused before anything is allocated, else said once (the monitor shows it).
  void check_memory(const TrainCallbacks& cb, int k, const std::string& what) {
    const uint64_t free = device_.is_cuda() ? uint64_t(cuda_device_memory(device_.index() < 0 ? 0 : device_.index()).free)
                                            : available_memory_bytes();
    notify(cb, check_training_memory(config_, k, what, device_.str(), free));
  }

  void choose_device(const TrainCallbacks& cb, const DistributedOptions& dist) {
    std::string spec = config_.train.device;
    // One GPU per local rank, as torchrun users expect.
    if (dist.active() && (spec == "auto" || spec.empty()) && cuda_available())
      spec = "cuda:" + std::to_string(dist.local_rank);
    const DeviceChoice dev = select_device(spec);
    device_ = torch::Device(dev.device);
    notify(cb, dev.message);
    if (config_.train.precision == "bf16" && !device_.is_cuda())
      notify(cb, "precision bf16: bf16 autocast is for CUDA; on " + device_.str() + " the run trains in fp32");
  }

  // Rank 0 builds the token cache (if the corpus is new) before the others read it, so W ranks
  // do not tokenise the same corpus into the same cache at once.
  void open_corpus_in_turn(const TrainCallbacks& cb) {
    if (coll_ && !writer()) coll_->barrier();
    open_corpus(cb);
    if (coll_ && writer()) coll_->barrier();
  }

  // Each rank trains on B/W consecutive rows of the step's batch; a rank's rows must be whole
  // h-groups or lie inside one, so that its share splits into equal groups as the model needs.
  void check_rows_split() const {
    if (!coll_) return;
    const auto& tc = config_.train;
    const int W = coll_->world_size(), B = tc.batch_size;
    if (B % W != 0)
      throw Error("train.batch_size " + std::to_string(B) + " does not split over " + std::to_string(W) +
                  " ranks (the batch is the job's global batch; each rank takes batch/ranks rows)");
    const int groups = h_groups_per_step(tc), rows = B / groups, share = B / W;
    if (share % rows != 0 && rows % share != 0)
      throw Error("the batch's " + std::to_string(groups) + " h-groups of " + std::to_string(rows) +
                  " rows do not split over " + std::to_string(W) + " ranks of " + std::to_string(share) +
                  " rows; choose a batch size or train.h_per_step where one divides the other");
  }

  // The run's model; with `shard` this rank's columns of a soup bank (--shard-bank).
  void make_bank(bool shard) {
    const int k = int(domains_.size());
    if (!shard) {
      bank_ = make_model(config_, k, device_);
      return;
    }
    if (!coll_) throw Error("--shard-bank splits the bank over the ranks of a job: start several (--nproc, torchrun)");
    if (config_.train.kind != ModelKind::kSoup || config_.bank.n_experts == 0 || config_.bank.expert_rank != 0)
      throw Error("--shard-bank needs a soup with full experts (kind soup, bank.n_experts > 0, bank.expert_rank 0)");
    const int64_t P = gpt_param_layout(config_.model).total;
    auto bank = std::make_unique<SoupBank>(config_.model, config_.bank, k, device_,
                                           column_shard(P, coll_->rank(), coll_->world_size()));
    shard_bank_ = bank.get();
    bank_ = std::move(bank);
    const ColumnShard cols = shard_bank_->shard();
    const double mb = double((config_.bank.n_experts + 1) * cols.length) * 4 * 3 / 1e6;  // S, E, 2 moments
    shard_message_ = "sharded bank: each of " + std::to_string(coll_->world_size()) + " ranks holds " +
                     std::to_string(cols.length) + " of " + std::to_string(P) + " columns of S and E with their moments (" +
                     std::to_string(int(mb)) + " MB, replicated " + std::to_string(int(mb * double(P) / double(cols.length))) + " MB)";
  }

  // The whole bank and AdamW state on rank 0 from the shards (null elsewhere); all ranks call it.
  void gather_whole_state(std::unique_ptr<SoupBank>* bank, std::unique_ptr<AdamW>* optimizer) {
    const int64_t P = shard_bank_->layout().total;
    *bank = gather_bank(*shard_bank_, *coll_);
    // The moments of S and E (0 and 1 in named_parameters()); the MLP's are whole everywhere.
    const auto m = gather_columns({optimizer_->exp_avg()[0], optimizer_->exp_avg()[1],
                                   optimizer_->exp_avg_sq()[0], optimizer_->exp_avg_sq()[1]}, P, *coll_);
    if (!*bank) return;
    std::vector<torch::Tensor> params;
    for (const auto& [name, t] : (*bank)->named_parameters()) params.push_back(t);
    *optimizer = std::make_unique<AdamW>(params, (*bank)->decay_masks(), AdamWOptions{}, (*bank)->lr_scales());
    (*optimizer)->set_step_count(optimizer_->step_count());
    for (size_t i = 0; i < params.size(); ++i) {
      (*optimizer)->exp_avg()[i].copy_(i < 2 ? m[i] : optimizer_->exp_avg()[i]);
      (*optimizer)->exp_avg_sq()[i].copy_(i < 2 ? m[2 + i] : optimizer_->exp_avg_sq()[i]);
    }
  }

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
      if (name == "S" || name == "theta") {
        const auto whole = torch::from_blob(const_cast<float*>(theta.data()), {int64_t(theta.size())});
        t.copy_((shard_bank_ ? shard_bank_->own_columns(whole) : whole).to(t.device()));
      }
    set_torch_threads(config_.train.threads);  // Model::load set its own
    notify(cb, "S starts from " + path);
  }

  void init_mixture() {
    const size_t k = domains_.size();
    pi_ = parse_meta_distribution(config_.train.meta_distribution);
    prior_.clear();
    if (config_.train.domain_prior == "size") {  // the natural mixture: each domain's training tokens
      for (const DomainInfo& d : cache_->domains()) prior_.push_back(double(d.train_tokens));
      prior_ = normalize_domain_weights(prior_, k);
    }
    dense_h_ = !config_.train.mixture.empty() ? normalize_domain_weights(config_.train.mixture, k)
               : prior_.empty()               ? uniform_domain_weights(k)
                                              : prior_;
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
    sync_ = make_gradient_sync(params_, coll_.get(), shard_bank_, bank_->fused_gradient());
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
      hs.push_back(sampled ? sampler_->sample_h(pi_, support_max_for(tc, int(domains_.size())), prior_) : dense_h_);
      sampler_->sample_batch(hs.back(), rows, host.data_ptr<uint8_t>() + int64_t(g) * rows * (T + 1));
    }
    // Every rank drew the whole batch above (same seed, same draws as one process); it trains
    // on its own consecutive rows and the h-groups they fall in.
    const int W = world_size(), share = B / W, first_row = coll_ ? coll_->rank() * share : 0;
    const int first_group = first_row / rows, local_groups = std::max(1, share / rows);
    const std::vector<std::vector<double>> local_hs(hs.begin() + first_group,
                                                    hs.begin() + first_group + local_groups);
    auto batch = host.narrow(0, first_row, share).to(device_, /*non_blocking=*/true).to(torch::kInt64);
    auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
    optimizer_->zero_grad();
    TrainingLoss loss;
    {
      const compat::CudaBf16Autocast autocast(tc.precision == "bf16" && device_.is_cuda());
      loss = shard_bank_ ? sharded_training_loss(*shard_bank_, *coll_, hs, first_group, local_groups, x, y)
                         : bank_->training_loss(local_hs, x, y);
    }
    // The job's loss is the mean of the ranks' (equal shares): scaling each by 1/W makes the
    // summed gradients the job's.
    (W > 1 ? loss.loss / double(W) : loss.loss).backward();
    const StepGroups placement{groups, first_group, rows / std::min(rows, share)};
    SyncedGradients synced = sync_->finish(&loss, placement, tc.grad_clip);
    if (synced.factored.defined()) optimizer_->set_factored_grad(loss.fused->factored_index, std::move(synced.factored));
    // A pure function of the step, so a resumed run takes the same steps as an uninterrupted one.
    optimizer_->set_lr_scales(bank_->lr_scales(double(step_) / tc.steps));
    optimizer_->step(lr, synced.clip_scale);
    loss.lm = loss.lm.detach();
    loss.loss = torch::Tensor();  // frees the graph now
    loss.fused.reset();
    return loss;
  }

  // Every rank's own tokens/s over its compute time in the log window (one small all-reduce).
  std::vector<double> rank_throughputs(double compute_s, int64_t steps) {
    const int W = coll_->world_size();
    auto times = torch::zeros({W}, torch::kFloat64);
    times[coll_->rank()] = compute_s;
    times = times.to(coll_->device());
    coll_->all_reduce_sum({times});
    times = times.cpu();
    const double tokens = double(steps) * double(config_.train.batch_size / W) * config_.model.block_size;
    std::vector<double> out;
    for (int r = 0; r < W; ++r) out.push_back(tokens / std::max(times[r].item<double>(), 1e-9));
    return out;
  }

  // Rank 0 evaluates (a sharded bank is gathered whole for it: every rank calls this) and logs.
  void evaluate_and_report(const TrainCallbacks& cb) {
    std::unique_ptr<SoupBank> whole;
    if (shard_bank_) whole = gather_bank(*shard_bank_, *coll_);
    if (!writer()) return;
    EvalResult r = evaluate_and_log(whole ? *whole : *bank_);
    if (cb.on_eval) cb.on_eval(r);
  }

  // Evaluates and logs; `rows` starts with the model's extra rows (e.g. MoE expert load).
  EvalResult evaluate_and_log(const TrainableModel& model) {
    std::vector<Metric> rows;
    EvalResult r = model.evaluate(val_, step_, &rows);
    const bool soup = !r.loss_specialist.empty();
    for (size_t i = 0; i < r.domains.size(); ++i) {
      rows.push_back({r.step, metric_key::kVal, r.domains[i], soup ? metric_key::kLossUniform : metric_key::kLoss,
                      r.loss_uniform[i], 0});
      if (soup)
        rows.push_back({r.step, metric_key::kVal, r.domains[i], metric_key::kLossSpecialist, r.loss_specialist[i], 0});
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
    if (!shard_message_.empty()) notify(cb, shard_message_);
    if (step_ == 0) evaluate_and_report(cb);
    const int64_t first_step = step_;
    double session_s = 0;  // training time in this call, pauses excluded
    double window_s = 0, compute_s = 0;  // compute: this rank's time outside collectives
    int64_t window_steps = 0;
    auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    std::vector<std::pair<std::string, torch::Tensor>> metric_sums;  // the model's extra metrics
    while (step_ < tc.steps) {
      bool pause = cb.pause_requested && cb.pause_requested();
      if (coll_ && cb.pause_requested) pause = coll_->any(pause);  // every rank pauses here, or none
      if (pause && cb.wait_while_paused) cb.wait_while_paused();
      bool stop = cb.should_stop && cb.should_stop();
      if (coll_) stop = coll_->any(stop);  // every rank stops at the same step, or none does
      if (stop) {
        const std::string path = save_checkpoint();
        if (log_) log_->set_run_status(run_id_, "stopped", iso8601_utc_now());
        if (cb.on_checkpoint) cb.on_checkpoint(path, step_);
        notify(cb, "stopped at step " + std::to_string(step_) + "; checkpoint " + path);
        return TrainOutcome::kStopped;
      }
      const auto t0 = Clock::now();
      const double lr = learning_rate_at(tc, step_);
      const double waited_before = coll_ ? coll_->waited_s() : 0;
      const TrainingLoss loss = train_step(lr);
      if (coll_) compute_s += seconds_since(t0) - (coll_->waited_s() - waited_before);
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
        if (coll_) p.rank_tokens_per_sec = rank_throughputs(compute_s, window_steps);
        p.world_size = world_size();
        compute_s = 0;
        std::vector<Metric> rows{{step_, metric_key::kTrain, "", metric_key::kLoss, p.train_loss, 0},
                                 {step_, metric_key::kTrain, "", metric_key::kLearningRate, lr, 0},
                                 {step_, metric_key::kTrain, "", metric_key::kTokensPerSec, p.tokens_per_sec, 0}};
        for (auto& [name, sum] : metric_sums) {
          rows.push_back({step_, metric_key::kTrain, "", name, sum.item<double>() / double(window_steps), 0});
          sum.zero_();
        }
        if (log_) log_->log_metrics(run_id_, rows);
        if (cb.on_progress) cb.on_progress(p);
        loss_sum.zero_();
        window_steps = 0;
        window_s = 0;
      } else {
        window_s += seconds_since(t0);
      }
      if (step_ % tc.eval_interval == 0 || last) evaluate_and_report(cb);  // the others wait at the next step
      if (step_ % tc.checkpoint_interval == 0 || last) {
        const std::string path = save_checkpoint();
        if (cb.on_checkpoint) cb.on_checkpoint(path, step_);
      }
    }
    if (log_) log_->set_run_status(run_id_, "finished", iso8601_utc_now());
    if (coll_) coll_->barrier();  // rank 0's last evaluation and checkpoint are done
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
  std::unique_ptr<GradientSync> sync_;  // after backward: none, all-reduce, fused overlap or sharded
  std::unique_ptr<BatchSampler> sampler_;
  MetaDistribution pi_ = MetaDistribution::kSparseDirichlet;
  std::vector<double> dense_h_;
  std::vector<double> prior_;  // train.domain_prior as weights (empty: uniform)
  std::unique_ptr<RunLog> log_;
  int64_t run_id_ = 0;
  std::string run_name_;
  int64_t step_ = 0;
  double elapsed_s_ = 0;
  std::string last_checkpoint_;
  std::unique_ptr<Collective> coll_;  // null unless this process is one rank of a job
  SoupBank* shard_bank_ = nullptr;    // bank_ as this rank's columns of the soup (--shard-bank)
  std::string shard_message_;
};

}  // namespace

std::unique_ptr<Trainer> Trainer::start_new(RunConfig config, const std::string& run_log_path,
                                            const TrainCallbacks& callbacks, const DistributedOptions& dist) {
  return std::make_unique<TrainerImpl>(std::move(config), run_log_path, callbacks, dist);
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& checkpoint_path,
                                         const std::string& run_log_path,
                                         const TrainCallbacks& callbacks,
                                         int64_t total_steps_override, const DistributedOptions& dist) {
  LoadedCheckpoint ck = load_checkpoint(checkpoint_path, torch::kCPU, true);
  return std::make_unique<TrainerImpl>(std::move(ck), checkpoint_path, run_log_path, callbacks,
                                       total_steps_override, dist);
}

}  // namespace souplab
