// docs/DESIGN.md §4.3 "Quality on the real corpus": for held-out domain-weight vectors h, the specialist
// instantiated from a Soup-of-Experts bank against the generic dense model (uniform mixture), the
// oracle dense model trained on D_h, and the linear merge sum_i h_i theta_i of per-domain dense
// experts; and, beside them, a sparse mixture-of-experts (docs/DESIGN.md §1.2) trained on the generic
// mixture, whose per-domain loss and total/active parameters are set against the soup's. Every
// model has the same base architecture and the same token budget (steps x batch x T).
//
//   bench_quality [--corpus DIR] [--domains a,b,c] [--steps N] [--quick] [--out FILE]
//                 [--work DIR] [--threads N] [--n N] [--val-windows N] [--seed N]
//                 [--ablate "n=4;meta=dirichlet;steps=2x;lr=1e-3"] [--moe-experts E] [--moe-top-k K]
//
// Loss on D_h = sum_i h_i L_i, L_i = the model's mean next-byte loss on domain i's fixed
// validation windows (the same windows for every model). Trained models are kept under
// --work/models and reused when a model's whole configuration is unchanged (--fresh retrains).
// Prints progress on stderr and Markdown on stdout; with --out, writes the generated part of
// the file between "bench_quality" markers and keeps the hand-written text around them.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <atomic>
#include <mutex>
#include <algorithm>

#include "bench_common.h"
#include "bench_train.h"
#include "souplab/config.h"
#include "souplab/domain_weights.h"
#include "souplab/param_layout.h"

#include <nlohmann/json.hpp>
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/nn/runner.h"
#include "souplab/trainer.h"

namespace fs = std::filesystem;
using namespace souplab;
using bench::Trained;
using bench::train_or_reuse;

using bench::split;

namespace {

std::string pct(double a, double b) {  // (a - b) / b in %, signed
  return bench::fmt("%+.1f%%", 100.0 * (a - b) / b);
}

double dot(const std::vector<double>& h, const std::vector<double>& l) {
  double s = 0;
  for (size_t i = 0; i < h.size(); ++i) s += h[i] * l[i];
  return s;
}

// A folder of real domain folders, each holding a symlink to the source domain's files (the
// corpus reader follows symlinked files but not symlinked folders).
std::string make_subcorpus(const std::string& corpus, const std::vector<std::string>& domains,
                           const std::string& work) {
  std::string name = "corpus";
  for (const auto& d : domains) name += "-" + d;
  if (name.size() > 120) name = "corpus-" + std::to_string(std::hash<std::string>{}(name));
  const fs::path dir = fs::path(work) / name;
  for (const auto& d : domains) {
    const fs::path src = fs::path(corpus) / d;
    if (!fs::is_directory(src)) throw std::runtime_error(src.string() + ": no such domain folder");
    fs::create_directories(dir / d);
    for (const auto& e : fs::directory_iterator(src)) {
      const std::string fname = e.path().filename().string();
      if (!e.is_regular_file() || fname == "docs.tsv" || fname[0] == '.') continue;
      const fs::path link = dir / d / fname;
      if (!fs::exists(fs::symlink_status(link))) fs::create_symlink(fs::absolute(e.path()), link);
    }
  }
  return dir.string();
}

torch::Tensor theta_of(const DenseSpecialist& s) { return s.dense_runner().theta(); }

struct HeldOut {
  std::string label;
  std::vector<double> h;
};

std::string join_num(const std::vector<double>& v, const char* f = "%.3f") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + bench::fmt(f, v[i]);
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);  // once: interop threads cannot be set again
  const char* env_corpus = std::getenv("SOUPLAB_SHARED_CORPUS");
  const std::string corpus_src =
      args.get("corpus", env_corpus && *env_corpus ? env_corpus : "../shared/corpus");
  const std::string domains_arg =
      args.get("domains", "bible_kjv,code_python,licenses_spdx,manpages_de");
  const std::string work = fs::absolute(args.get("work", "quality-work")).string();
  const std::string out = args.get("out", "");
  const bool fresh = args.get("fresh", "0") == "1";
  const int64_t steps = std::stoll(args.get("steps", args.quick ? "600" : "2000"));
  const int n_experts = std::stoi(args.get("n", "8"));
  const int val_windows = std::stoi(args.get("val-windows", "64"));
  const uint64_t seed = std::stoull(args.get("seed", "7"));
  const std::string ablate = args.get("ablate", "");
  fs::create_directories(work);
  setenv("SOUPLAB_DATA_DIR", (fs::path(work) / "data").c_str(), 0);
  setenv("SOUPLAB_CACHE_DIR", (fs::path(work) / "cache").c_str(), 0);

  auto wanted = split(domains_arg, ',');
  std::sort(wanted.begin(), wanted.end());  // the corpus orders domains by name
  const std::string corpus = make_subcorpus(corpus_src, wanted, work);
  const std::string cache_dir = (fs::path(work) / "cache" / fs::path(corpus).filename()).string();
  const size_t k = wanted.size();

  // One configuration for every model: same size, steps, batch, schedule and seed.
  RunConfig base;
  base.model.n_layer = std::stoi(args.get("layers", "2"));
  base.model.n_embd = std::stoi(args.get("width", "128"));
  base.model.n_head = 4;
  base.model.block_size = std::stoi(args.get("context", "64"));
  base.train.corpus_dir = corpus;
  base.train.cache_dir = cache_dir;
  base.train.device = "cpu";
  base.train.steps = steps;
  base.train.batch_size = std::stoi(args.get("batch", "16"));
  base.train.lr = std::stod(args.get("lr", "2e-3"));
  base.train.warmup_steps = std::min<int64_t>(50, steps / 10);
  base.train.log_interval = std::max<int64_t>(1, steps / 4);
  base.train.eval_interval = steps;
  base.train.eval_windows = 4;  // the trainer's own evaluation; ours is below
  base.train.checkpoint_interval = steps;
  base.train.keep_checkpoints = 1;
  base.train.threads = args.threads;
  base.train.seed = 1337;

  RunConfig soup_cfg = base;
  soup_cfg.train.kind = ModelKind::kSoup;
  soup_cfg.bank.n_experts = n_experts;
  soup_cfg.train.meta_distribution = args.get("meta", "sparse_dirichlet");
  RunConfig dense_cfg = base;
  dense_cfg.train.kind = ModelKind::kDense;
  dense_cfg.bank.n_experts = 0;
  RunConfig moe_cfg = base;  // the generic mixture, like the generic dense model
  moe_cfg.train.kind = ModelKind::kMoe;
  moe_cfg.bank.n_experts = 0;
  moe_cfg.moe.n_experts = std::stoi(args.get("moe-experts", "8"));
  moe_cfg.moe.top_k = std::stoi(args.get("moe-top-k", "2"));
  validate(moe_cfg);
  const std::string moe_label = "sparse MoE (E=" + std::to_string(moe_cfg.moe.n_experts) + ", top-" +
                                std::to_string(moe_cfg.moe.top_k) + ")";

  // Held-out h: three sparse, two dense, fixed with `seed`.
  auto named = [&](const std::string& s) { return parse_domain_weights(s, wanted); };
  std::vector<HeldOut> held;
  auto has = [&](const std::string& d) { return std::find(wanted.begin(), wanted.end(), d) != wanted.end(); };
  std::mt19937_64 rng(seed);
  if (has("code_c") && has("code_python") && has("bible_kjv") && has("licenses_spdx") &&
      has("dictionary_gcide") && has("manpages_de")) {
    held.push_back({"sparse 2", named("code_c=0.5,code_python=0.5")});
    held.push_back({"sparse 2", named("bible_kjv=0.7,licenses_spdx=0.3")});
    held.push_back({"sparse 3", named("dictionary_gcide=0.6,manpages_de=0.3,code_python=0.1")});
    held.push_back({"dense 4", named("bible_kjv=1,code_c=1,dictionary_gcide=1,manpages_de=1")});
  } else if (k == 4 && has("bible_kjv") && has("code_python") && has("licenses_spdx") &&
             has("manpages_de")) {
    held.push_back({"sparse 2", named("code_python=0.5,manpages_de=0.5")});
    held.push_back({"sparse 2", named("bible_kjv=0.7,licenses_spdx=0.3")});
    held.push_back({"sparse 3", named("bible_kjv=0.6,code_python=0.3,manpages_de=0.1")});
    held.push_back({"dense 3", named("bible_kjv=1,code_python=1,licenses_spdx=1")});
  } else {  // any other domain set: seeded choices of the same shapes
    std::vector<size_t> idx(k);
    for (size_t i = 0; i < k; ++i) idx[i] = i;
    std::shuffle(idx.begin(), idx.end(), rng);
    auto make = [&](std::vector<std::pair<size_t, double>> w) {
      std::vector<double> h(k, 0.0);
      for (auto [i, v] : w) h[idx[i % k]] += v;
      return normalize_domain_weights(h, k);
    };
    held.push_back({"sparse 2", make({{0, 0.5}, {1, 0.5}})});
    held.push_back({"sparse 2", make({{2, 0.7}, {3, 0.3}})});
    held.push_back({"sparse 3", make({{4, 0.6}, {5, 0.3}, {0, 0.1}})});
    held.push_back({"dense 4", make({{1, 1}, {2, 1}, {3, 1}, {4, 1}})});
  }
  {
    std::gamma_distribution<double> g(1.0, 1.0);
    std::vector<double> h(k);
    for (auto& v : h) v = g(rng);
    double s = 0;
    for (double v : h) s += v;
    for (auto& v : h) v = std::round(1000.0 * v / s) / 1000.0;
    held.push_back({"dense " + std::to_string(k) + " (Dirichlet)", normalize_domain_weights(h, k)});
  }

  std::fprintf(stderr, "corpus %s (%zu domains), work %s, %lld steps x batch %d x T %d\n",
               corpus.c_str(), k, work.c_str(), (long long)steps, base.train.batch_size,
               base.model.block_size);

  // The corpus cache (built once, before any trainer opens it) and the validation windows.
  std::fprintf(stderr, "opening the corpus cache (%d validation windows of %d bytes per domain)...\n",
               val_windows, base.model.block_size);
  auto val = ValidationSet::from_corpus(corpus, cache_dir, base.model.block_size, val_windows);
  if (val->domains() != wanted) throw std::runtime_error("validation domains differ from the corpus");

  // --- training: every model is a job; --jobs N trains N at once (1 intra-op thread each) ---
  struct Job {
    std::string name;
    RunConfig cfg;
    std::string spec;  // ablation spec, empty otherwise
  };
  std::vector<Job> jobs;
  jobs.push_back({"soup", soup_cfg, ""});
  jobs.push_back({"generic", dense_cfg, ""});
  for (size_t j = 0; j < held.size(); ++j) {
    RunConfig c = dense_cfg;
    c.train.mixture = held[j].h;
    jobs.push_back({"oracle" + std::to_string(j + 1), c, ""});
  }
  for (size_t i = 0; i < k; ++i) {
    RunConfig c = dense_cfg;
    c.train.mixture = one_hot_domain_weights(k, i);
    jobs.push_back({"expert-" + wanted[i], c, ""});
  }
  jobs.push_back({"moe", moe_cfg, ""});
  // Ablations: further soups, each "key=value,key=value" (n, meta, steps (N or Nx), lr,
  // hidden, init, alpha, elr, clr, smax). A longer step budget also trains its own generic model.
  for (const auto& spec : split(ablate, ';')) {
    RunConfig c = soup_cfg;
    bool dense_too = false;
    for (const auto& kv : split(spec, ',')) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos) throw std::runtime_error("--ablate: expected key=value in " + kv);
      const std::string key = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (key == "n") c.bank.n_experts = std::stoi(v);
      else if (key == "meta") c.train.meta_distribution = v;
      else if (key == "lr") c.train.lr = std::stod(v);
      else if (key == "hidden") c.bank.coef_hidden = std::stoi(v);
      else if (key == "init") c.bank.expert_init_scale = std::stod(v);
      else if (key == "alpha") c.bank.alpha_init_l1 = std::stod(v);
      else if (key == "elr") c.bank.expert_lr_scale = std::stod(v);
      else if (key == "clr") c.bank.coef_lr_scale = std::stod(v);
      else if (key == "smax") c.train.support_max = std::stoi(v);
      else if (key == "steps") {
        c.train.steps = v.back() == 'x' ? int64_t(std::stod(v.substr(0, v.size() - 1)) * steps) : std::stoll(v);
        c.train.eval_interval = c.train.checkpoint_interval = c.train.steps;
        c.train.log_interval = std::max<int64_t>(1, c.train.steps / 4);
        dense_too = true;
      } else throw std::runtime_error("--ablate: unknown key " + key);
    }
    std::string name = "soup-" + spec;
    for (auto& ch : name)
      if (ch == ',' || ch == '=') ch = '_';
    jobs.push_back({name, c, spec});
    if (dense_too) {
      RunConfig g = dense_cfg;
      g.train.steps = c.train.steps;
      g.train.eval_interval = g.train.checkpoint_interval = c.train.steps;
      g.train.log_interval = c.train.log_interval;
      jobs.push_back({"generic-" + name.substr(5), g, "generic " + spec});
    }
  }
  const int n_jobs = std::max(1, std::stoi(args.get("jobs", "1")));
  if (n_jobs > 1)
    for (auto& j : jobs) j.cfg.train.threads = std::max(1, args.threads / n_jobs);
  std::vector<Trained> done(jobs.size());
  {
    std::atomic<size_t> next{0};
    std::mutex err_mu;
    std::string first_error;
    auto worker = [&]() {
      for (size_t i; (i = next++) < jobs.size();) {
        try {
          done[i] = train_or_reuse(jobs[i].name, jobs[i].cfg, work, fresh);
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(err_mu);
          if (first_error.empty()) first_error = jobs[i].name + ": " + e.what();
        }
      }
    };
    const auto t0 = bench::Clock::now();
    std::vector<std::thread> pool;
    for (int w = 0; w < n_jobs; ++w) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    if (!first_error.empty()) throw std::runtime_error(first_error);
    std::fprintf(stderr, "all training done in %.0f s wall\n", bench::ms_since(t0) / 1000.0);
  }
  at::set_num_threads(args.threads);
  std::vector<Trained> trained = done;
  size_t at = 0;
  const Trained soup = done[at++], generic = done[at++];
  std::vector<Trained> oracles, experts;
  for (size_t j = 0; j < held.size(); ++j) oracles.push_back(done[at++]);
  for (size_t i = 0; i < k; ++i) experts.push_back(done[at++]);
  const Trained moe = done[at++];
  struct Variant {
    std::string spec;
    RunConfig cfg;
    Trained t;
  };
  std::vector<Variant> variants;
  for (; at < jobs.size(); ++at) variants.push_back({jobs[at].spec, jobs[at].cfg, done[at]});

  // --- evaluation on the same fixed validation windows ---
  std::fprintf(stderr, "evaluating...\n");
  auto eval_bank = [&](const std::string& ckpt, const std::vector<double>& h) {
    auto bank = Model::load(ckpt, "cpu");
    at::set_num_threads(args.threads);
    return bank->instantiate(bank->weights(h))->evaluate(*val);
  };
  const auto uniform = uniform_domain_weights(k);
  auto soup_bank = Model::load(soup.ckpt, "cpu");
  at::set_num_threads(args.threads);
  const auto L_generic = eval_bank(generic.ckpt, uniform);
  std::vector<std::vector<double>> L_expert;
  std::vector<torch::Tensor> theta_expert;
  ModelConfig mcfg;
  for (const auto& e : experts) {
    auto bank = Model::load(e.ckpt, "cpu");
    at::set_num_threads(args.threads);
    auto s = bank->instantiate_dense(bank->weights(uniform));
    mcfg = s->model_config();
    theta_expert.push_back(theta_of(*s).clone());
    L_expert.push_back(s->evaluate(*val));
  }
  auto eval_soup = [&](const Model& b, const std::vector<double>& h) {
    return b.instantiate(b.weights(h))->evaluate(*val);
  };

  bench::Table main_t;
  main_t.header = {"#", "held-out h", "specialist", "generic", "oracle", "linear merge",
                   "spec. vs generic", "spec. vs oracle", "merge vs generic"};
  bench::Table per_domain;  // every model's L_i
  per_domain.header = {"model"};
  for (const auto& d : wanted) per_domain.header.push_back(d);
  auto add_pd = [&](const std::string& m, const std::vector<double>& l) {
    std::vector<std::string> r{m};
    for (double v : l) r.push_back(bench::fmt("%.3f", v));
    per_domain.rows.push_back(r);
  };
  add_pd("generic (uniform mixture)", L_generic);
  add_pd("soup specialist at uniform h", eval_soup(*soup_bank, uniform));
  int wins_generic = 0, within5 = 0;
  std::vector<double> oracle_dh;
  std::vector<std::vector<double>> L_spec_all;
  for (size_t j = 0; j < held.size(); ++j) {
    const auto& h = held[j].h;
    std::fprintf(stderr, "h%zu: %s\n", j + 1, format_domain_weights(h, wanted).c_str());
    const auto L_spec = eval_soup(*soup_bank, h);
    L_spec_all.push_back(L_spec);
    const auto L_oracle = eval_bank(oracles[j].ckpt, uniform);
    torch::Tensor merged = torch::zeros_like(theta_expert[0]);
    for (size_t i = 0; i < k; ++i) merged += h[i] * theta_expert[i];
    const DenseSpecialist merge(std::make_shared<souplab::detail::DenseRunner>(merged, mcfg),
                                DomainWeights(h, wanted), 0.0);
    const auto L_merge = merge.evaluate(*val);
    const double s = dot(h, L_spec), g = dot(h, L_generic), o = dot(h, L_oracle), m = dot(h, L_merge);
    oracle_dh.push_back(o);
    wins_generic += s < g;
    within5 += s <= 1.05 * o;
    main_t.rows.push_back({"h" + std::to_string(j + 1),
                           held[j].label + ": " + format_domain_weights(h, wanted),
                           bench::fmt("%.4f", s), bench::fmt("%.4f", g), bench::fmt("%.4f", o),
                           bench::fmt("%.4f", m), pct(s, g), pct(s, o), pct(m, g)});
    add_pd("soup specialist at h" + std::to_string(j + 1), L_spec);
    add_pd("oracle h" + std::to_string(j + 1), L_oracle);
    add_pd("linear merge at h" + std::to_string(j + 1), L_merge);
    std::fprintf(stderr, "  specialist %.4f generic %.4f oracle %.4f merge %.4f\n", s, g, o, m);
  }

  // One-hot (seen during training; not held out): the soup's one-hot specialist vs the expert.
  bench::Table onehot_t;
  onehot_t.header = {"domain", "soup one-hot specialist", "dense expert (own domain)", "generic",
                     "spec. vs generic", "spec. vs expert"};
  for (size_t i = 0; i < k; ++i) {
    const auto L = eval_soup(*soup_bank, one_hot_domain_weights(k, i));
    add_pd("soup specialist onehot:" + wanted[i], L);
    add_pd("expert " + wanted[i], L_expert[i]);
    onehot_t.rows.push_back({wanted[i], bench::fmt("%.4f", L[i]), bench::fmt("%.4f", L_expert[i][i]),
                             bench::fmt("%.4f", L_generic[i]), pct(L[i], L_generic[i]),
                             pct(L[i], L_expert[i][i])});
  }

  // The sparse MoE: one model for every h (routing is per token), against the soup's specialists.
  const auto L_moe = eval_bank(moe.ckpt, uniform);
  add_pd(moe_label + " (any h)", L_moe);
  bench::Table moe_dh_t;
  moe_dh_t.header = {"#", "held-out h", "MoE", "soup specialist", "generic", "oracle",
                     "MoE vs soup spec.", "MoE vs generic"};
  int moe_beats_soup = 0;
  for (size_t j = 0; j < held.size(); ++j) {
    const auto& h = held[j].h;
    const double m = dot(h, L_moe), s = dot(h, L_spec_all[j]), g = dot(h, L_generic);
    moe_beats_soup += m < s;
    moe_dh_t.rows.push_back({"h" + std::to_string(j + 1), format_domain_weights(h, wanted),
                             bench::fmt("%.4f", m), bench::fmt("%.4f", s), bench::fmt("%.4f", g),
                             bench::fmt("%.4f", oracle_dh[j]), pct(m, s), pct(m, g)});
  }
  bench::Table moe_dom_t;
  moe_dom_t.header = {"domain", "MoE", "soup one-hot specialist", "generic", "dense expert (own domain)",
                      "MoE vs soup spec."};
  for (size_t i = 0; i < k; ++i) {
    const double spec = eval_soup(*soup_bank, one_hot_domain_weights(k, i))[i];
    moe_dom_t.rows.push_back({wanted[i], bench::fmt("%.4f", L_moe[i]), bench::fmt("%.4f", spec),
                              bench::fmt("%.4f", L_generic[i]), bench::fmt("%.4f", L_expert[i][i]),
                              pct(L_moe[i], spec)});
  }
  const ParamCounts pc_soup = param_counts(soup_cfg, int(k)), pc_moe = param_counts(moe_cfg, int(k));
  const ParamCounts pc_dense = param_counts(dense_cfg, int(k));
  auto count = [](int64_t n) { return bench::fmt("%.3f M", double(n) / 1e6); };
  bench::Table params_t;
  params_t.header = {"model", "trained parameters", "shipped to serve one h", "active per token"};
  params_t.rows.push_back({"soup bank (n=" + std::to_string(n_experts) + ")", count(pc_soup.total),
                           count(pc_soup.instantiated) + " (one specialist)", count(pc_soup.base)});
  params_t.rows.push_back({moe_label, count(pc_moe.total), count(pc_moe.instantiated) + " (all experts)",
                           count(pc_moe.active)});
  params_t.rows.push_back({"dense (generic, oracle, expert)", count(pc_dense.total), count(pc_dense.base),
                           count(pc_dense.base)});

  // Ablation table: each variant's specialist on every held-out h.
  bench::Table abl_t;
  if (!variants.empty()) {
    abl_t.header = {"soup variant", "steps", "n"};
    for (size_t j = 0; j < held.size(); ++j) abl_t.header.push_back("h" + std::to_string(j + 1));
    abl_t.header.push_back("mean vs generic");
    abl_t.header.push_back("mean vs oracle");
    auto add_row = [&](const std::string& label, const RunConfig& c, const std::vector<double>& dh,
                       const std::vector<double>& ref_generic) {
      std::vector<std::string> r{label, std::to_string(c.train.steps),
                                 c.train.kind == ModelKind::kSoup ? std::to_string(c.bank.n_experts) : "dense"};
      double vg = 0, vo = 0;
      for (size_t j = 0; j < held.size(); ++j) {
        r.push_back(bench::fmt("%.4f", dh[j]));
        vg += (dh[j] - ref_generic[j]) / ref_generic[j] / held.size();
        vo += (dh[j] - oracle_dh[j]) / oracle_dh[j] / held.size();
      }
      r.push_back(bench::fmt("%+.1f%%", 100 * vg));
      r.push_back(bench::fmt("%+.1f%%", 100 * vo));
      abl_t.rows.push_back(r);
    };
    std::vector<double> gen_dh, soup_dh;
    for (size_t j = 0; j < held.size(); ++j) {
      gen_dh.push_back(dot(held[j].h, L_generic));
      soup_dh.push_back(dot(held[j].h, L_spec_all[j]));
    }
    add_row("main soup (" + soup_cfg.train.meta_distribution + ")", soup_cfg, soup_dh, gen_dh);
    std::vector<double> last_generic = gen_dh;
    // A longer-budget variant is followed by its own generic; compare soups to that generic.
    for (size_t v = 0; v < variants.size(); ++v) {
      auto b = Model::load(variants[v].t.ckpt, "cpu");
      at::set_num_threads(args.threads);
      std::vector<double> dh;
      for (const auto& ho : held) dh.push_back(dot(ho.h, eval_soup(*b, ho.h)));
      std::vector<double> ref = gen_dh;
      if (v + 1 < variants.size() && variants[v + 1].cfg.train.kind == ModelKind::kDense) {
        auto gb = Model::load(variants[v + 1].t.ckpt, "cpu");
        at::set_num_threads(args.threads);
        const auto lg = eval_soup(*gb, uniform);
        ref.clear();
        for (const auto& ho : held) ref.push_back(dot(ho.h, lg));
      }
      if (variants[v].cfg.train.kind == ModelKind::kDense) ref = dh;
      add_row(variants[v].spec, variants[v].cfg, dh, ref);
    }
  }

  // Timings per model kind.
  std::map<std::string, std::pair<int, double>> by_kind;
  for (const auto& t : trained) {
    std::string kind = t.name == "soup" ? "soup bank (n=" + std::to_string(n_experts) + ")"
                       : t.name == "generic" ? "generic dense"
                       : t.name.rfind("oracle", 0) == 0 ? "oracle dense"
                       : t.name.rfind("expert-", 0) == 0 ? "per-domain dense expert"
                       : t.name == "moe" ? moe_label
                       : "ablation: " + t.name;
    by_kind[kind].first += 1;
    by_kind[kind].second += t.train_s;
  }
  bench::Table time_t;
  time_t.header = {"model kind", "models", "training time each (s)", "total (s)"};
  double total_s = 0;
  for (const auto& [kind, v] : by_kind) {
    time_t.rows.push_back({kind, std::to_string(v.first), bench::fmt("%.0f", v.second / v.first),
                           bench::fmt("%.0f", v.second)});
    total_s += v.second;
  }

  // --- report ---
  const int64_t tokens = steps * base.train.batch_size * base.model.block_size;
  std::ostringstream md;
  md << "<!-- generated by bench_quality: " << bench::cpu_model() << ", " << args.threads
     << " threads, libtorch " << TORCH_VERSION_MAJOR << "." << TORCH_VERSION_MINOR << "."
     << TORCH_VERSION_PATCH << ", load at the end " << bench::load_average() << " -->\n\n";
  md << "Machine: " << bench::cpu_model() << ", " << std::thread::hardware_concurrency()
     << " cores, " << args.threads << " intra-op threads, libtorch " << TORCH_VERSION_MAJOR << "."
     << TORCH_VERSION_MINOR << "." << TORCH_VERSION_PATCH << ", CPU.\n\n";
  md << "Configuration: domains " << domains_arg << " (k = " << k << "); every model "
     << bench::describe(base.model) << " (byte vocab), AdamW lr " << base.train.lr
     << " (warm-up " << base.train.warmup_steps << ", cosine to 0.1x), batch "
     << base.train.batch_size << ", **" << steps << " steps = " << tokens
     << " training tokens per model**, seed 1337 for every model (same initialisation). "
     << "Soup: n = " << n_experts << " experts, coefficient MLP hidden " << soup_cfg.bank.coef_hidden
     << ", meta-distribution " << soup_cfg.train.meta_distribution << " (s_max "
     << soup_cfg.train.support_max << "), experts at " << soup_cfg.bank.expert_lr_scale
     << "x and coefficient MLP at " << soup_cfg.bank.coef_lr_scale
     << "x the learning rate. Validation: " << val_windows << " fixed windows of "
     << base.model.block_size << " bytes per domain (the same for every model); loss on D_h = "
     << "sum_i h_i L_i in nats/byte.\n\n";
  md << "Budget: the soup bank, the generic model and each oracle and each expert see the same "
     << tokens << " tokens. The soup needs no more than that to serve every h; the baselines "
     << "need one oracle per target (" << held.size() << " here) or one expert per domain (" << k
     << " here), i.e. " << held.size() << "x and " << k << "x one model's budget.\n\n";
  md << "Loss on D_h (nats/byte, lower is better):\n\n" << main_t.markdown();
  md << "Specialist below the generic model on " << wins_generic << "/" << held.size()
     << " held-out h; within 5% of the oracle on " << within5 << "/" << held.size() << ".\n\n";
  md << "One-hot h (seen in training, not held out), loss on the domain itself:\n\n"
     << onehot_t.markdown();
  if (!abl_t.rows.empty())
    md << "Ablation (loss on D_h of each variant's specialist; \"vs generic\" is against the "
          "generic dense model trained for the same number of steps):\n\n"
       << abl_t.markdown();
  md << "Sparse mixture-of-experts (docs/DESIGN.md §1.2): the same base model with every MLP replaced by "
     << moe_cfg.moe.n_experts << " expert MLPs and a router (token-choice top-" << moe_cfg.moe.top_k
     << ", capacity factor " << moe_cfg.moe.capacity_factor_train << " in training and "
     << moe_cfg.moe.capacity_factor_eval << " in evaluation, load-balancing coefficient "
     << moe_cfg.moe.balance_coef << ", router z-loss " << moe_cfg.moe.z_loss_coef
     << "), trained on the generic (uniform) mixture with the same steps, batch and seed. It is "
     << "one model for every h, so its loss on D_h uses the same L_i for every h. MoE below the "
     << "soup specialist on " << moe_beats_soup << "/" << held.size() << " held-out h.\n\n"
     << moe_dh_t.markdown() << "Per domain, against the soup's one-hot specialists:\n\n"
     << moe_dom_t.markdown()
     << "Parameters: the trade-off. All of a MoE's experts ship together and it routes per token; "
        "the soup ships one small dense model per h.\n\n"
     << params_t.markdown();
  md << "Training time (wall clock, shared 2-core machine):\n\n" << time_t.markdown();
  md << "Total training " << bench::fmt("%.0f", total_s) << " s.\n\n";
  md << "<details><summary>Per-domain validation losses L_i of every model</summary>\n\n"
     << per_domain.markdown() << "</details>\n";
  std::printf("%s", md.str().c_str());
  std::fflush(stdout);

  if (!out.empty()) {
    const std::string begin = "<!-- bench_quality:begin -->", end = "<!-- bench_quality:end -->";
    std::string doc = fs::exists(out) ? bench::read_file(out) : "";
    const auto b = doc.find(begin), e = doc.find(end);
    const std::string block = begin + "\n" + md.str() + end;
    if (b != std::string::npos && e != std::string::npos && e > b)
      doc = doc.substr(0, b) + block + doc.substr(e + end.size());
    else
      doc += (doc.empty() ? "# Results\n\n" : "\n") + block + "\n";
    std::ofstream(out) << doc;
    std::fprintf(stderr, "wrote %s\n", out.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_quality: %s\n", e.what());
  return 1;
}
