// Training the post-hoc systems: one small loop for "frozen base + a few trainable tensors"
// (LoRA experts, full fine-tuned experts, PHATGOOSE gates, WEMoE routers), each a run in the
// run log, and the builders that write their folders atomically.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "souplab/atomic_file.h"
#include "souplab/corpus.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "souplab/paths.h"
#include "souplab/posthoc.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "souplab/trainer.h"
#include "engine/core/sampler.h"
#include "engine/core/staged_folder.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/adamw.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"
#include "engine/nn/validation.h"

namespace souplab {
namespace fs = std::filesystem;
namespace {

// The base model and its data, shared by every builder.
struct Context {
  std::shared_ptr<const Model> base;
  ModelFacts facts;
  torch::Tensor theta0;  // (P), detached
  ModelConfig c;
  ParamLayout layout;
  std::shared_ptr<const TokenCache> cache;
  std::vector<DomainWindows> val;
  std::unique_ptr<RunLog> log;
  std::optional<int64_t> parent;
};

void message(const PosthocCommon& o, const std::string& m) {
  if (o.on_message) o.on_message(m);
}

Context open_context(const std::string& base_path, const PosthocCommon& o) {
  Context ctx;
  ctx.base = Model::load(base_path, o.device);
  ctx.facts = ctx.base->facts();
  // The generic model of a soup (its training mixture); a dense model's own theta.
  ctx.theta0 = ctx.base->instantiate_dense(ctx.facts.training_mixture)->dense_runner().theta().detach();
  ctx.c = ctx.facts.config.model;
  ctx.layout = gpt_param_layout(ctx.c);
  const std::string corpus = o.corpus_dir.empty() ? ctx.facts.corpus_dir : o.corpus_dir;
  if (corpus.empty())
    throw Error(base_path + ": no corpus is recorded for this model; give the corpus folder");
  CorpusOptions co;
  co.cache_dir = o.cache_dir.empty() ? ctx.facts.cache_dir : o.cache_dir;
  co.min_domain_tokens = uint64_t(ctx.c.block_size) + 1;
  ctx.cache = TokenCache::open(corpus, co);
  if (!ctx.facts.domains.empty() && ctx.facts.domains != ctx.cache->domain_names())
    throw Error(corpus + ": its domains differ from those of " + base_path);
  ctx.facts.domains = ctx.cache->domain_names();
  ctx.facts.corpus_dir = corpus;
  ctx.facts.cache_dir = co.cache_dir;
  ctx.val = load_validation_windows(*ctx.cache, ctx.c.block_size, o.eval_windows);
  ctx.log = std::make_unique<RunLog>(o.run_log_path);
  if (ctx.facts.run_id > 0) {
    try {
      ctx.log->get_run(ctx.facts.run_id);
      ctx.parent = ctx.facts.run_id;
    } catch (const Error&) {  // the base came from another log: no parent link
    }
  }
  return ctx;
}

size_t domain_index(const Context& ctx, const std::string& name) {
  const auto& d = ctx.facts.domains;
  auto it = std::find(d.begin(), d.end(), name);
  if (it == d.end()) throw Error("unknown domain \"" + name + "\" (corpus " + ctx.facts.corpus_dir + ")");
  return size_t(it - d.begin());
}

// Draws training batches (B, T + 1) on the model's device.
using BatchFn = std::function<torch::Tensor(int batch)>;

BatchFn domain_batches(const Context& ctx, std::vector<double> h, uint64_t seed) {
  auto sampler = std::make_shared<BatchSampler>(ctx.cache, ctx.c.block_size, seed);
  const auto dev = ctx.theta0.device();
  const int T = ctx.c.block_size;
  return [sampler, h, dev, T](int B) {
    auto host = torch::empty({B, T + 1}, torch::kUInt8);
    sampler->sample_batch(h, B, host.data_ptr<uint8_t>());
    return host.to(dev).to(torch::kInt64);
  };
}

struct Loop {
  std::string stage, run_name, run_kind;
  nlohmann::json config;
  std::vector<torch::Tensor> params, masks;
  double lr = 1e-3, weight_decay = 0;
  double beta2 = 0.999;
  int64_t steps = 100;
  std::function<torch::Tensor(const torch::Tensor& x)> logits;
  BatchFn batches;
  // Validation after training: per-domain losses (logged as split "val", name "loss").
  std::function<std::vector<double>()> evaluate;
};

struct LoopResult {
  int64_t run_id = 0;
  std::vector<double> val;
};

// The fine-tuning loop: AdamW on `params`, linear warm-up then cosine, gradient clipping at 1.
LoopResult run_loop(Context& ctx, const PosthocCommon& o, Loop& L) {
  RunInfo info;
  info.name = L.run_name;
  info.kind = L.run_kind;
  info.config_json = L.config.dump();
  info.parent_run_id = ctx.parent;
  LoopResult res;
  res.run_id = ctx.log->create_run(info);
  std::vector<std::pair<std::string, int64_t>> doms;
  for (const auto& d : ctx.cache->domains()) doms.emplace_back(d.name, int64_t(d.train_tokens));
  ctx.log->set_domains(res.run_id, doms);
  try {
    for (auto& p : L.params) p.requires_grad_(true);
    AdamWOptions ao;
    ao.beta2 = L.beta2;
    ao.weight_decay = L.weight_decay;
    std::vector<torch::Tensor> masks = L.masks;
    masks.resize(L.params.size());
    AdamW opt(L.params, masks, ao);
    TrainConfig sched;  // only for learning_rate_at
    sched.lr = L.lr;
    sched.steps = L.steps;
    sched.warmup_steps = std::max<int64_t>(1, L.steps / 10);
    sched.min_lr_ratio = 0.1;
    const int T = ctx.c.block_size;
    double loss_sum = 0;
    int64_t window = 0;
    for (int64_t step = 0; step < L.steps; ++step) {
      if (o.should_stop && o.should_stop()) throw Error("stopped");
      auto batch = L.batches(o.batch_size);
      auto x = batch.narrow(1, 0, T), y = batch.narrow(1, 1, T);
      opt.zero_grad();
      auto loss = lm_loss(L.logits(x), y);
      loss.backward();
      opt.step(learning_rate_at(sched, step), grad_clip_scale(L.params, 1.0));
      loss_sum += loss.item<double>();
      ++window;
      if ((step + 1) % 10 == 0 || step + 1 == L.steps) {
        const double mean = loss_sum / double(window);
        ctx.log->log_metrics(res.run_id, {{step + 1, "train", "", "loss", mean, 0}});
        if (o.on_progress) o.on_progress({L.stage, step + 1, L.steps, mean});
        loss_sum = 0;
        window = 0;
      }
    }
    for (auto& p : L.params) {
      p.requires_grad_(false);
      p.mutable_grad() = torch::Tensor();
    }
    if (L.evaluate) {
      res.val = L.evaluate();
      std::vector<Metric> rows;
      for (size_t d = 0; d < res.val.size(); ++d)
        rows.push_back({L.steps, "val", ctx.facts.domains[d], "loss", res.val[d], 0});
      ctx.log->log_metrics(res.run_id, rows);
    }
    ctx.log->set_run_status(res.run_id, "finished", iso8601_utc_now());
  } catch (...) {
    try {
      ctx.log->set_run_status(res.run_id, "failed", iso8601_utc_now());
    } catch (...) {
    }
    throw;
  }
  return res;
}

std::vector<double> per_domain_losses(const Context& ctx, const torch::Tensor& theta, const GptAdapter* ad) {
  std::vector<double> out;
  for (const auto& w : ctx.val) out.push_back(mean_window_loss(theta, ctx.c, ctx.layout, w.tokens, 8, ad));
  return out;
}

nlohmann::json common_json(const PosthocCommon& o) {
  return {{"batch_size", o.batch_size}, {"seed", o.seed}, {"eval_windows", o.eval_windows}};
}

std::string absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

}  // namespace

// ---- experts ----------------------------------------------------------------------------------

ExpertsResult train_experts(const std::string& base_path, const std::string& out_dir,
                            const ExpertsOptions& o) {
  if (o.steps < 1) throw Error("expert steps must be >= 1");
  Context ctx = open_context(base_path, o);
  StagedFolder staged(out_dir, o.overwrite);
  ExpertsResult res;
  res.dir = out_dir;
  res.domains = o.domains.empty() ? ctx.facts.domains : o.domains;
  const bool lora = o.kind == ExpertKind::kLora;
  const double lr = o.lr > 0 ? o.lr : (lora ? 2e-2 : 1e-3);
  const auto base_losses = per_domain_losses(ctx, ctx.theta0, nullptr);
  std::vector<std::pair<std::string, torch::Tensor>> lora_tensors;
  std::vector<std::string> dirs;
  const size_t k = ctx.facts.domains.size();
  for (size_t e = 0; e < res.domains.size(); ++e) {
    const std::string& name = res.domains[e];
    const size_t d = domain_index(ctx, name);
    message(o, std::string("training ") + expert_kind_name(o.kind) + " expert " + std::to_string(e + 1) + "/" +
                   std::to_string(res.domains.size()) + " on " + name);
    Loop L;
    L.stage = "expert " + name;
    L.run_name = std::string(expert_kind_name(o.kind)) + " expert " + name;
    L.run_kind = lora ? "lora_expert" : "full_expert";
    L.config = common_json(o);
    L.config.update({{"base", absolute(base_path)}, {"domain", name}, {"steps", o.steps}, {"lr", lr},
                     {"rank", lora ? o.rank : 0}});
    L.lr = lr;
    L.steps = o.steps;
    L.batches = domain_batches(ctx, one_hot_domain_weights(k, d), o.seed + 7919 * (e + 1));
    LoraExpert expert;
    torch::Tensor theta;
    std::unique_ptr<LoraMixAdapter> adapter;
    if (lora) {
      expert = LoraExpert::init(ctx.c, o.rank, ctx.theta0.device(), o.seed + e);
      adapter = std::make_unique<LoraMixAdapter>(std::vector<const LoraExpert*>{&expert}, std::vector<double>{1.0});
      L.params = expert.tensors();
      const LoraMixAdapter* ad = adapter.get();
      L.logits = [&ctx, ad](const torch::Tensor& x) { return gpt_forward(ctx.theta0, ctx.c, ctx.layout, x, ad); };
      L.evaluate = [&ctx, ad] { return per_domain_losses(ctx, ctx.theta0, ad); };
    } else {
      theta = ctx.theta0.clone();
      L.params = {theta};
      L.masks = {decay_mask(ctx.layout).to(theta.device())};
      L.weight_decay = 0.1;
      L.beta2 = 0.95;
      L.logits = [&ctx, &theta](const torch::Tensor& x) { return gpt_forward(theta, ctx.c, ctx.layout, x); };
      L.evaluate = [&ctx, &theta] { return per_domain_losses(ctx, theta, nullptr); };
    }
    const LoopResult r = run_loop(ctx, o, L);
    res.run_ids.push_back(r.run_id);
    res.own_loss_base.push_back(base_losses[d]);
    res.own_loss_expert.push_back(r.val[d]);
    if (lora) {
      add_lora_tensors(expert, ctx.c, "expert." + std::to_string(e) + ".", &lora_tensors);
    } else {
      SpecialistCard card;
      card.run_id = std::to_string(r.run_id);
      card.run_name = L.run_name;
      card.run_kind = ModelKind::kDense;
      card.step = o.steps;
      card.source_checkpoint = absolute(base_path);
      card.domain_names = ctx.facts.domains;
      card.h = one_hot_domain_weights(k, d);
      card.val_losses = r.val;
      card.notes = "Full fine-tuned expert of domain " + name + " (SoupLab post-hoc experts).";
      auto host = theta.detach().to(torch::kCPU).contiguous();
      const std::string sub = "expert_" + name;
      export_specialist(ctx.c, ctx.layout, host.data_ptr<float>(), card, staged.path() + "/" + sub,
                        ExportFormat::kSafetensors);
      dirs.push_back(sub);
    }
    message(o, name + ": loss " + std::to_string(base_losses[d]) + " (base) -> " +
                   std::to_string(r.val[d]) + " (expert)");
  }
  nlohmann::json m{{"method", model_kind_name(lora ? ModelKind::kLoraExperts : ModelKind::kFullExperts)},
                   {"base", absolute(base_path)},
                   {"corpus_dir", ctx.facts.corpus_dir},
                   {"domains", ctx.facts.domains},
                   {"experts", res.domains},
                   {"run_ids", res.run_ids},
                   {"steps", o.steps},
                   {"lr", lr}};
  if (lora) {
    m["rank"] = o.rank;
    m["tensors"] = "experts.safetensors";
    save_tensor_map(staged.path() + "/experts.safetensors", lora_tensors, {{"format", "souplab-lora-experts"}});
  } else {
    m["dirs"] = dirs;
  }
  write_file_atomically(staged.path() + "/manifest.json", m.dump(2) + "\n");
  staged.commit();
  return res;
}

// ---- PHATGOOSE and its baselines --------------------------------------------------------------

PhatgooseResult build_phatgoose(const std::string& experts_dir, const std::string& out_dir,
                                const PhatgooseOptions& o) {
  const nlohmann::json em = nlohmann::json::parse(read_file(experts_dir + "/manifest.json"));
  if (parse_model_kind(em.value("method", "")) != ModelKind::kLoraExperts)
    throw file_error(experts_dir + "/manifest.json", "not a folder of LoRA experts (souplab-cli experts --kind lora)");
  Context ctx = open_context(em.at("base").get<std::string>(), o);
  const auto names = em.at("experts").get<std::vector<std::string>>();
  std::vector<LoraExpert> experts = load_lora_experts(experts_dir + "/" + em.at("tensors").get<std::string>(),
                                                      names.size(), ctx.c, ctx.theta0.device());
  StagedFolder staged(out_dir, o.overwrite);
  PhatgooseResult res;
  res.dir = out_dir;
  const size_t modules = size_t(ctx.c.n_layer) * kLinearSites, n = experts.size(), k = ctx.facts.domains.size();
  // vectors[m][i]: expert i's routing vector for module m.
  std::vector<std::vector<torch::Tensor>> vectors(modules, std::vector<torch::Tensor>(n));
  for (size_t i = 0; i < n; ++i) {
    const size_t d = domain_index(ctx, names[i]);
    LoraMixAdapter ad({&experts[i]}, {1.0});
    if (o.router == Router::kPhatgoose) {
      message(o, "training gates of expert " + names[i]);
      for (size_t m = 0; m < modules; ++m)
        ad.gates.push_back(torch::zeros({experts[i].A[m].size(0)}, ctx.theta0.options()));
      Loop L;
      L.stage = "gates " + names[i];
      L.run_name = "phatgoose gates " + names[i];
      L.run_kind = "phatgoose_gates";
      L.config = common_json(o);
      L.config.update({{"experts", absolute(experts_dir)}, {"domain", names[i]}, {"steps", o.gate_steps},
                       {"lr", o.gate_lr}});
      L.params = ad.gates;
      L.lr = o.gate_lr;
      L.steps = o.gate_steps;
      L.batches = domain_batches(ctx, one_hot_domain_weights(k, d), o.seed + 104729 * (i + 1));
      L.logits = [&ctx, &ad](const torch::Tensor& x) { return gpt_forward(ctx.theta0, ctx.c, ctx.layout, x, &ad); };
      res.run_ids.push_back(run_loop(ctx, o, L).run_id);
      for (size_t m = 0; m < modules; ++m) vectors[m][i] = ad.gates[m].detach();
    } else if (o.router == Router::kPrototype) {
      torch::NoGradGuard g;
      std::vector<torch::Tensor> sums(modules);
      ad.input_sums = &sums;
      auto batches = domain_batches(ctx, one_hot_domain_weights(k, d), o.seed + 104729 * (i + 1));
      for (int b = 0; b < o.prototype_batches; ++b)
        gpt_forward(ctx.theta0, ctx.c, ctx.layout, batches(o.batch_size).narrow(1, 0, ctx.c.block_size), &ad);
      for (size_t m = 0; m < modules; ++m) vectors[m][i] = sums[m];  // scale is removed by LN
    } else if (o.router == Router::kArrow) {
      torch::NoGradGuard g;
      for (size_t m = 0; m < modules; ++m) {
        auto dw = torch::matmul(experts[i].A[m], experts[i].B[m]).to(torch::kCPU);  // (in, out)
        auto svd = torch::linalg_svd(dw, /*full_matrices=*/false);
        vectors[m][i] = std::get<0>(svd).select(1, 0).to(ctx.theta0.device());  // input-side direction
      }
    }
  }
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < n; ++i) add_lora_tensors(experts[i], ctx.c, "expert." + std::to_string(i) + ".", &out);
  if (o.router != Router::kMerged)
    for (int l = 0; l < ctx.c.n_layer; ++l)
      for (int s = 0; s < kLinearSites; ++s)
        out.push_back({"route." + module_name(l, LinearSite(s)),
                       torch::stack(vectors[size_t(l) * kLinearSites + size_t(s)])});
  save_tensor_map(staged.path() + "/phatgoose.safetensors", out, {{"format", "souplab-phatgoose"}});
  nlohmann::json m{{"method", model_kind_name(ModelKind::kPhatgoose)}, {"router", router_name(o.router)},
                   {"top_k", o.top_k},           {"base", em.at("base")},
                   {"experts_dir", absolute(experts_dir)},
                   {"domains", ctx.facts.domains}, {"experts", names},
                   {"gate_steps", o.router == Router::kPhatgoose ? o.gate_steps : 0},
                   {"run_ids", res.run_ids},     {"tensors", "phatgoose.safetensors"}};
  write_file_atomically(staged.path() + "/manifest.json", m.dump(2) + "\n");
  staged.commit();
  return res;
}

// ---- WEMoE --------------------------------------------------------------------------------------

namespace {

// All bytes of a text file or of the files of a folder (sorted), for unlabeled target text.
std::vector<uint8_t> read_target_bytes(const std::string& target) {
  std::error_code ec;
  if (!fs::exists(target, ec)) throw file_error(target, "no such file or folder");
  std::vector<std::string> files;
  if (fs::is_directory(target, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(target, ec))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(target);
  }
  std::vector<uint8_t> bytes;
  for (const auto& f : files) {
    const std::string s = read_file(f);
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  return bytes;
}

}  // namespace

WemoeResult build_wemoe(const std::string& base_path, const std::string& experts_dir,
                        const std::string& out_dir, const WemoeOptions& o) {
  if (o.target.empty() == o.target_weights.empty())
    throw Error("WEMoE needs exactly one target: a text file/folder or domain weights");
  Context ctx = open_context(base_path, o);
  const nlohmann::json em = nlohmann::json::parse(read_file(experts_dir + "/manifest.json"));
  const std::vector<torch::Tensor> thetas = load_full_experts(experts_dir, ctx.c, ctx.theta0.device());
  const int T = ctx.c.block_size;
  // Target batches for the router, and held-out target windows to report its loss.
  BatchFn batches;
  torch::Tensor held_out;
  if (!o.target.empty()) {
    auto bytes = std::make_shared<std::vector<uint8_t>>(read_target_bytes(o.target));
    if (bytes->size() < size_t(4 * (T + 1)))
      throw file_error(o.target, "too little target text: need at least " + std::to_string(4 * (T + 1)) + " bytes");
    const size_t split = bytes->size() * 9 / 10;  // last tenth held out
    const int64_t W = std::min<int64_t>(o.eval_windows * 4, int64_t((bytes->size() - split) / size_t(T + 1)));
    if (W > 0)
      held_out = torch::from_blob(bytes->data() + split, {W, T + 1}, torch::kUInt8).to(torch::kInt64);
    auto rng = std::make_shared<std::mt19937_64>(o.seed);
    const auto dev = ctx.theta0.device();
    batches = [bytes, split, rng, dev, T](int B) {
      auto host = torch::empty({B, T + 1}, torch::kUInt8);
      std::uniform_int_distribution<size_t> pick(0, split - size_t(T) - 2);
      for (int b = 0; b < B; ++b)
        std::memcpy(host.data_ptr<uint8_t>() + b * (T + 1), bytes->data() + pick(*rng), size_t(T + 1));
      return host.to(dev).to(torch::kInt64);
    };
  } else {
    if (o.target_weights.names() != ctx.facts.domains)
      throw Error("WEMoE target weights over other domains than the corpus's " + ctx.facts.corpus_dir);
    const std::vector<double>& h = o.target_weights.values();
    batches = domain_batches(ctx, h, o.seed);
    std::vector<torch::Tensor> parts;
    for (size_t d = 0; d < h.size(); ++d)
      if (h[d] > 0) parts.push_back(ctx.val[d].tokens);
    held_out = torch::cat(parts);
  }
  torch::Tensor theta_ta = task_arithmetic(ctx.theta0, thetas, o.lambda);
  auto adapter = std::make_shared<WemoeAdapter>(
      WemoeAdapter::make_layers(ctx.theta0, thetas, ctx.c, o.router_hidden, o.seed), o.lambda);
  auto held_loss = [&] {
    return held_out.defined() && held_out.size(0) > 0
               ? mean_window_loss(theta_ta, ctx.c, ctx.layout, held_out.to(theta_ta.device()), 8, adapter.get())
               : std::nan("");
  };
  WemoeResult res;
  res.dir = out_dir;
  res.target_loss_start = held_loss();
  StagedFolder staged(out_dir, o.overwrite);
  Loop L;
  L.stage = "router";
  L.run_name = "wemoe router";
  L.run_kind = "wemoe_router";
  L.config = common_json(o);
  L.config.update({{"base", absolute(base_path)}, {"experts", absolute(experts_dir)}, {"lambda", o.lambda},
                   {"steps", o.steps}, {"lr", o.lr}, {"target", o.target}, {"target_weights", o.target_weights.values()}});
  for (auto& [name, tensor] : adapter->router_tensors()) L.params.push_back(tensor);
  L.lr = o.lr;
  L.steps = o.steps;
  L.batches = batches;
  const WemoeAdapter* ad = adapter.get();
  L.logits = [&](const torch::Tensor& x) { return gpt_forward(theta_ta, ctx.c, ctx.layout, x, ad); };
  L.evaluate = [&] { return per_domain_losses(ctx, theta_ta, ad); };
  res.run_id = run_loop(ctx, o, L).run_id;
  res.target_loss_end = held_loss();
  ctx.log->log_metrics(res.run_id, {{o.steps, "val", "target", "loss", res.target_loss_end, 0}});
  save_tensor_map(staged.path() + "/router.safetensors", adapter->router_tensors(), {{"format", "souplab-wemoe-router"}});
  nlohmann::json m{{"method", model_kind_name(ModelKind::kWemoe)},
                   {"base", absolute(base_path)},
                   {"experts_dir", absolute(experts_dir)},
                   {"domains", ctx.facts.domains},
                   {"experts", em.at("experts")},
                   {"lambda", o.lambda},
                   {"router_hidden", o.router_hidden},
                   {"steps", o.steps},
                   {"target", o.target},
                   {"target_weights", o.target_weights.values()},
                   {"run_id", res.run_id},
                   {"target_loss_start", res.target_loss_start},
                   {"target_loss_end", res.target_loss_end},
                   {"tensors", "router.safetensors"}};
  write_file_atomically(staged.path() + "/manifest.json", m.dump(2) + "\n");
  staged.commit();
  return res;
}

}  // namespace souplab

namespace souplab {

const char* expert_kind_name(ExpertKind k) { return k == ExpertKind::kLora ? "lora" : "full"; }

const char* router_name(Router r) {
  switch (r) {
    case Router::kPhatgoose: return "phatgoose";
    case Router::kPrototype: return "prototype";
    case Router::kArrow: return "arrow";
    case Router::kMerged: return "merged";
  }
  return "";
}

bool parse_router(const std::string& name, Router* out) {
  for (Router r : {Router::kPhatgoose, Router::kPrototype, Router::kArrow, Router::kMerged})
    if (name == router_name(r)) {
      *out = r;
      return true;
    }
  return false;
}

bool parse_expert_kind(const std::string& name, ExpertKind* out) {
  for (ExpertKind k : {ExpertKind::kLora, ExpertKind::kFull})
    if (name == expert_kind_name(k)) {
      *out = k;
      return true;
    }
  return false;
}

}  // namespace souplab
