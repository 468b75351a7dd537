// Specialists against the equal-budget dense model (the quality issue; docs/DESIGN.md §4.3 "Quality on the
// real corpus"). On the 14-domain corpus with some sources held out of training, every model has
// the same size, steps, batch and seed; each soup variant's specialists are compared with one
// dense model trained on the uniform mixture:
//   (a) held-out mixtures h (seeded sparse and dense points of the simplex): loss on D_h,
//   (b) one-hot h: loss on the domain itself,
//   (c) held-out target texts (whole sources removed from the training corpus, plus one mixed
//       target), with h from the histogram of the target (as `souplab-cli weights --method
//       histogram`) and from fitting h through the bank (`--method fit`), both computed on a fit
//       sample of the target and evaluated on a disjoint evaluation sample.
//
//   bench_specialists [--corpus DIR] [--work DIR] [--steps N] [--layers N --width N --context N
//                     --batch N] [--threads N] [--variants SPEC] [--out FILE] [--json FILE]
//                     [--curve-every N] [--fit 0|1] [--only-train 1|dense|VARIANT] [--train-seed S]
//                     [--prepared-corpus DIR] [--base "section.key=value,..."]
//
// SPEC: "name:section.key=value,section.key=value;name2:..." — each variant is the base config
// (a soup unless it sets train.kind) with those keys set, e.g.
//   "soup-h4:train.h_per_step=4;soup-h4-e05:train.h_per_step=4,bank.expert_lr_scale=0.5"
// A variant whose name starts with "dense" is compared as a dense model (no h).
// --curve-every N keeps a checkpoint every N steps of every model and reports the gap at each.
// Trained models are kept under --work/models and reused when their whole config is unchanged.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench_common.h"
#include "bench_train.h"
#include "souplab/corpus.h"
#include "souplab/finetune.h"
#include "souplab/domain_weights.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "engine/nn/runner.h"
#include "souplab/target_weights.h"
#include "engine/nn/target_text.h"
#include "engine/nn/validation.h"

namespace fs = std::filesystem;
using namespace souplab;
using nlohmann::json;

using bench::split;

namespace {

// ---- the corpus with held-out sources ------------------------------------------------------

// A held-out source: the documents of `domain` whose docs.tsv title starts with `prefix` (or
// contains it when `contains`), removed from training. Their first half (by document) is the
// target's fit sample, the rest its evaluation sample.
struct HeldOutSource {
  std::string target, domain, pattern;
  bool contains;
};
const std::vector<HeldOutSource> kHeldOut = {
    {"austen_persuasion", "fiction_austen", "Persuasion", false},
    {"python_asyncio", "code_python", "/asyncio/", true},
    {"c_stdio", "code_c", "glibc-2.36/stdio-common/", false},
    {"info_autoconf", "manuals_info", "autoconf-doc:", false},
    {"sotu_2000s", "speeches_sotu", "20", false},
};
// A mixed target: the evaluation halves of two held-out sources, interleaved by document.
const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> kMixedTargets = {
    {"mixed_c_autoconf", {"c_stdio", "info_autoconf"}},
};

struct Doc {
  std::string title, text;
};

std::vector<Doc> read_documents(const fs::path& domain_dir) {
  const std::string data = bench::read_file((domain_dir / "data.txt").string());
  std::ifstream tsv(domain_dir / "docs.tsv");
  std::string line;
  std::getline(tsv, line);  // header
  std::vector<Doc> docs;
  while (std::getline(tsv, line)) {
    const auto f = split(line, '\t');
    if (f.size() < 5) continue;
    const size_t off = std::stoull(f[1]), len = std::stoull(f[2]);
    docs.push_back({f[4], data.substr(off, len)});
  }
  return docs;
}

void write_documents(const fs::path& file, const std::vector<const Doc*>& docs) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file.string() + ".tmp", std::ios::binary);
  for (const Doc* d : docs) out << d->text << (d->text.empty() || d->text.back() != '\n' ? "\n" : "") << "\f\n";
  out.close();
  fs::rename(file.string() + ".tmp", file);
}

// Writes <work>/corpus14 (every domain, held-out documents removed) and <work>/targets/<name>/
// {fit.txt, eval.txt}, once (a marker file says it is complete).
void build_corpus_and_targets(const fs::path& src, const fs::path& work, std::string* corpus_dir,
                              std::vector<std::string>* targets) {
  const fs::path corpus = work / "corpus14", tdir = work / "targets", done = work / "corpus14.done";
  *corpus_dir = corpus.string();
  for (const auto& h : kHeldOut) targets->push_back(h.target);
  for (const auto& m : kMixedTargets) targets->push_back(m.first);
  if (fs::exists(done)) return;
  std::map<std::string, std::pair<std::vector<const Doc*>, std::vector<const Doc*>>> halves;
  std::map<std::string, std::vector<Doc>> all;
  for (const auto& e : fs::directory_iterator(src)) {
    if (!e.is_directory() || !fs::exists(e.path() / "docs.tsv")) continue;
    const std::string domain = e.path().filename().string();
    all[domain] = read_documents(e.path());
  }
  for (auto& [domain, docs] : all) {
    std::vector<const Doc*> keep;
    for (const Doc& d : docs) {
      const HeldOutSource* held = nullptr;
      for (const auto& h : kHeldOut)
        if (h.domain == domain && (h.contains ? d.title.find(h.pattern) != std::string::npos
                                              : d.title.rfind(h.pattern, 0) == 0))
          held = &h;
      if (!held) {
        keep.push_back(&d);
        continue;
      }
      auto& [fit, eval] = halves[held->target];
      // Alternate documents between the halves so both span the source.
      (fit.size() <= eval.size() ? fit : eval).push_back(&d);
    }
    write_documents(corpus / domain / "data.txt", keep);
    std::fprintf(stderr, "corpus14/%s: %zu of %zu documents kept\n", domain.c_str(), keep.size(), docs.size());
  }
  for (const auto& h : kHeldOut) {
    auto& [fit, eval] = halves.at(h.target);
    if (fit.empty() || eval.empty()) throw std::runtime_error("held-out source " + h.target + " matched no documents");
    write_documents(tdir / h.target / "fit.txt", fit);
    write_documents(tdir / h.target / "eval.txt", eval);
  }
  for (const auto& [name, pair] : kMixedTargets) {
    std::vector<const Doc*> fit, eval;
    const auto& a = halves.at(pair.first);
    const auto& b = halves.at(pair.second);
    for (size_t i = 0; i < std::max(a.first.size(), b.first.size()); ++i) {
      if (i < a.first.size()) fit.push_back(a.first[i]);
      if (i < b.first.size()) fit.push_back(b.first[i]);
    }
    for (size_t i = 0; i < std::max(a.second.size(), b.second.size()); ++i) {
      if (i < a.second.size()) eval.push_back(a.second[i]);
      if (i < b.second.size()) eval.push_back(b.second[i]);
    }
    write_documents(tdir / name / "fit.txt", fit);
    write_documents(tdir / name / "eval.txt", eval);
  }
  std::ofstream(done) << "ok\n";
}

// W evenly spread windows of T + 1 bytes over a target text, (W, T + 1) int64.
torch::Tensor text_windows(const std::string& path, int T, int W) {
  const std::string bytes = read_target_text(path, 0, T + 1);
  return spread_windows(bytes, 0, int64_t(bytes.size()), T, W);
}

// ---- configs --------------------------------------------------------------------------------

// Sets section.key = value in the config through its JSON (strict: unknown keys are errors).
RunConfig with_setting(const RunConfig& c, const std::string& assignment) {
  const auto eq = assignment.find('='), dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq)
    throw std::runtime_error("variant setting \"" + assignment + "\": expected section.key=value");
  const std::string section = assignment.substr(0, dot), key = assignment.substr(dot + 1, eq - dot - 1),
                    value = assignment.substr(eq + 1);
  json j = json::parse(to_json(c));
  json v;
  try {
    v = json::parse(value);
  } catch (const json::exception&) {
    v = value;  // a bare word is a string
  }
  j[section][key] = v;
  RunConfig out = parse_run_config(j.dump(), "variant setting " + assignment);
  validate(out);
  return out;
}

struct Variant {
  std::string name;
  RunConfig cfg;
};

// ---- evaluation -----------------------------------------------------------------------------

struct Scores {
  std::vector<double> mixtures, onehot, target_hist, target_fit, uniform;  // losses
  std::vector<double> target_finetuned;  // after fine-tuning on the target's fit sample
};

double dot(const std::vector<double>& h, const std::vector<double>& l) {
  double s = 0;
  for (size_t i = 0; i < h.size(); ++i) s += h[i] * l[i];
  return s;
}

struct EvalData {
  std::vector<DomainWindows> val;  // per domain
  std::vector<std::vector<double>> mixtures;
  std::vector<std::string> targets;
  std::vector<torch::Tensor> target_eval;       // (W, T + 1) per target
  std::vector<std::string> target_fit_files;
  std::vector<std::vector<double>> target_hist;  // histogram h per target (bank-independent)
};

// Loss on D_h of theta: only the domains in h's support are evaluated.
double mixture_loss(const torch::Tensor& theta, const ModelConfig& mc, const ParamLayout& layout,
                    const EvalData& d, const std::vector<double>& h, std::map<size_t, double>* cache) {
  double s = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] <= 0) continue;
    double L;
    if (cache && cache->count(i)) {
      L = cache->at(i);
    } else {
      L = mean_window_loss(theta, mc, layout, d.val[i].tokens);
      if (cache) (*cache)[i] = L;
    }
    s += h[i] * L;
  }
  return s;
}

Scores evaluate_model(const std::string& ckpt, bool soup, const EvalData& d, bool do_fit, int threads,
                      int64_t finetune_steps = 0) {
  auto bank = Model::load(ckpt, "cpu");
  at::set_num_threads(threads);
  const size_t k = d.val.size();
  Scores s;
  auto theta_at = [&](const std::vector<double>& h) {
    return bank->instantiate_dense(bank->weights(h))->dense_runner().theta();
  };
  const auto uniform = uniform_domain_weights(k);
  const ModelConfig mc = bank->facts().config.model;
  const ParamLayout layout = gpt_param_layout(mc);
  const torch::Tensor theta_u = theta_at(uniform);
  std::map<size_t, double> at_uniform;
  for (size_t i = 0; i < k; ++i) s.uniform.push_back(mixture_loss(theta_u, mc, layout, d, one_hot_domain_weights(k, i), &at_uniform));
  for (const auto& h : d.mixtures)
    s.mixtures.push_back(soup ? mixture_loss(theta_at(h), mc, layout, d, h, nullptr) : dot(h, s.uniform));
  for (size_t i = 0; i < k; ++i)
    s.onehot.push_back(soup ? mixture_loss(theta_at(one_hot_domain_weights(k, i)), mc, layout, d,
                                           one_hot_domain_weights(k, i), nullptr)
                            : s.uniform[i]);
  for (size_t t = 0; t < d.targets.size(); ++t) {
    const auto& w = d.target_eval[t];
    if (finetune_steps > 0) {  // the specialist at the histogram h (a dense model as it is), fine-tuned
      FinetuneOptions fo;
      fo.steps = finetune_steps;
      fo.device = "cpu";
      fo.holdout = 0.05;
      const auto r = finetune_on_text(*bank->instantiate_dense(bank->weights(soup ? d.target_hist[t] : uniform)),
                                     d.target_fit_files[t], fo);
      at::set_num_threads(threads);
      const auto tuned = torch::from_blob(const_cast<float*>(r.theta.data()), {int64_t(r.theta.size())});
      s.target_finetuned.push_back(mean_window_loss(tuned, mc, layout, w));
    }
    if (!soup) {
      const double L = mean_window_loss(theta_u, mc, layout, w);
      s.target_hist.push_back(L);
      s.target_fit.push_back(L);
      continue;
    }
    s.target_hist.push_back(mean_window_loss(theta_at(d.target_hist[t]), mc, layout, w));
    if (do_fit) {
      FitOptions fo;
      const FitResult fr = bank->fit_weights(d.target_fit_files[t], fo);
      at::set_num_threads(threads);
      s.target_fit.push_back(mean_window_loss(theta_at(fr.h.values()), mc, layout, w));
    }
  }
  return s;
}

double mean_rel(const std::vector<double>& a, const std::vector<double>& b) {  // mean (a - b) / b
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) / b[i];
  return a.empty() ? NAN : s / double(a.size());
}

std::string pct(double v) { return std::isnan(v) ? "-" : bench::fmt("%+.2f%%", 100 * v); }

json scores_json(const Scores& s) {
  return {{"mixtures", s.mixtures}, {"onehot", s.onehot}, {"target_hist", s.target_hist},
          {"target_fit", s.target_fit}, {"uniform", s.uniform}, {"target_finetuned", s.target_finetuned}};
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv);
  bench::set_threads(args.threads);
  const char* env_corpus = std::getenv("SOUPLAB_SHARED_CORPUS");
  const std::string corpus_src = args.get("corpus", env_corpus && *env_corpus ? env_corpus : "../shared/corpus");
  const std::string work = fs::absolute(args.get("work", "specialists-work")).string();
  const bool fresh = args.get("fresh", "0") == "1", do_fit = args.get("fit", "1") == "1";
  const int64_t curve_every = std::stoll(args.get("curve-every", "0"));
  const int64_t finetune_steps = std::stoll(args.get("finetune-steps", "0"));
  fs::create_directories(work);
  setenv("SOUPLAB_DATA_DIR", (fs::path(work) / "data").c_str(), 0);
  setenv("SOUPLAB_CACHE_DIR", (fs::path(work) / "cache").c_str(), 0);

  std::string corpus;
  EvalData d;
  build_corpus_and_targets(corpus_src, work, &corpus, &d.targets);
  std::string cache_dir = (fs::path(work) / "cache" / "corpus14").string();
  // --prepared-corpus DIR: train on DIR as it is (e.g. `corpus cluster` of <work>/corpus14, so
  // the held-out sources stay out), with the same held-out targets; their absolute losses then
  // compare banks of different domain sets (labelled vs clustered) in docs/RESULTS.md.
  if (const std::string prepared = args.get("prepared-corpus", ""); !prepared.empty()) {
    corpus = fs::absolute(prepared).string();
    cache_dir = (fs::path(work) / "cache" / fs::path(corpus).filename()).string();
  }

  // The default configuration a user gets, with the benchmark's size flags.
  RunConfig base;
  base.model.n_layer = std::stoi(args.get("layers", std::to_string(base.model.n_layer)));
  base.model.n_embd = std::stoi(args.get("width", std::to_string(base.model.n_embd)));
  base.model.n_head = std::stoi(args.get("heads", std::to_string(base.model.n_head)));
  base.model.block_size = std::stoi(args.get("context", std::to_string(base.model.block_size)));
  base.train.corpus_dir = corpus;
  base.train.cache_dir = cache_dir;
  base.train.device = "cpu";
  base.train.steps = std::stoll(args.get("steps", std::to_string(base.train.steps)));
  base.train.batch_size = std::stoi(args.get("batch", std::to_string(base.train.batch_size)));
  base.train.seed = std::stoull(args.get("train-seed", std::to_string(base.train.seed)));
  base.train.eval_interval = base.train.steps;
  base.train.eval_windows = 4;  // the trainer's own evaluation; ours is below
  base.train.checkpoint_interval = base.train.steps;
  base.train.keep_checkpoints = 1;
  base.train.threads = args.threads;
  base.train.log_interval = std::max<int64_t>(1, base.train.steps / 6);
  // --base "section.key=value,...": settings of every model, the dense baseline's too (e.g.
  // train.domain_prior=size for clustered domains of very different sizes).
  for (const auto& kv : split(args.get("base", ""), ',')) base = with_setting(base, kv);
  RunConfig dense_cfg = base;
  dense_cfg.train.kind = ModelKind::kDense;
  dense_cfg.bank.n_experts = 0;
  RunConfig soup_cfg = base;
  soup_cfg.train.kind = ModelKind::kSoup;

  std::vector<Variant> variants;
  for (const auto& spec : split(args.get("variants", "soup:train.kind=soup"), ';')) {
    const auto colon = spec.find(':');
    Variant v{spec.substr(0, colon), spec.rfind("dense", 0) == 0 ? dense_cfg : soup_cfg};
    if (colon != std::string::npos)
      for (const auto& kv : split(spec.substr(colon + 1), ',')) v.cfg = with_setting(v.cfg, kv);
    variants.push_back(v);
  }

  // Validation windows, held-out mixtures, target samples and their histogram weights.
  const int T = base.model.block_size;
  const int val_windows = std::stoi(args.get("val-windows", "32"));
  CorpusOptions copts;
  copts.cache_dir = cache_dir;
  copts.min_domain_tokens = uint64_t(T) + 1;
  auto cache = TokenCache::open(corpus, copts);
  d.val = load_validation_windows(*cache, T, val_windows);
  const auto names = cache->domain_names();
  const size_t k = names.size();
  std::mt19937_64 rng(std::stoull(args.get("seed", "7")));
  const int n_mix = std::stoi(args.get("mixtures", "8"));
  for (int m = 0; m < n_mix; ++m) {  // support 2, 3, 4 in turn, then every fourth a dense point
    std::vector<double> h(k, 0.0);
    std::exponential_distribution<double> e(1.0);
    if (m % 4 == 3) {
      for (auto& v : h) v = e(rng);
    } else {
      std::vector<size_t> idx(k);
      for (size_t i = 0; i < k; ++i) idx[i] = i;
      std::shuffle(idx.begin(), idx.end(), rng);
      for (int i = 0; i < 2 + m % 4; ++i) h[idx[size_t(i)]] = e(rng);
    }
    d.mixtures.push_back(normalize_domain_weights(h, k));
  }
  for (const auto& t : d.targets) {
    const fs::path dir = fs::path(work) / "targets" / t;
    d.target_fit_files.push_back((dir / "fit.txt").string());
    d.target_eval.push_back(text_windows((dir / "eval.txt").string(), T, std::stoi(args.get("target-windows", "64"))));
    d.target_hist.push_back(histogram_weights(*cache, (dir / "fit.txt").string()).weights.values());
  }

  // Training: the dense baseline, then every variant. --only-train NAME trains that one model
  // and stops, so several processes (one thread each) can train one comparison side by side.
  const std::string only = args.get("only-train", "0");
  if (only != "0" && only != "1") {
    if (only == "dense") {
      bench::train_or_reuse("dense", dense_cfg, work, fresh, curve_every);
      return 0;
    }
    for (const auto& v : variants)
      if (v.name == only) {
        bench::train_or_reuse(v.name, v.cfg, work, fresh, curve_every);
        return 0;
      }
    throw std::runtime_error("--only-train " + only + ": no such variant");
  }
  const auto dense = bench::train_or_reuse("dense", dense_cfg, work, fresh, curve_every);
  std::vector<bench::Trained> trained;
  for (const auto& v : variants) trained.push_back(bench::train_or_reuse(v.name, v.cfg, work, fresh, curve_every));
  if (only == "1") return 0;

  // Evaluation.
  std::fprintf(stderr, "evaluating...\n");
  json results;
  results["domains"] = names;
  results["mixtures"] = d.mixtures;
  results["targets"] = d.targets;
  results["target_hist_h"] = d.target_hist;
  const Scores ds = evaluate_model(dense.ckpt, false, d, false, args.threads, finetune_steps);
  results["models"]["dense"] = scores_json(ds);
  results["models"]["dense"]["train_s"] = dense.train_s;
  bench::Table t;
  t.header = {"variant", "mixtures", "one-hot", "targets (histogram h)", "targets (fit h)", "uniform h",
              "fine-tuned on targets", "train s"};
  t.rows.push_back({"dense (baseline)", "0", "0", "0", "0", "0", "0", bench::fmt("%.0f", dense.train_s)});
  for (size_t i = 0; i < variants.size(); ++i) {
    const bool soup = variants[i].cfg.train.kind == ModelKind::kSoup;
    const Scores s = evaluate_model(trained[i].ckpt, soup, d, do_fit, args.threads, finetune_steps);
    results["models"][variants[i].name] = scores_json(s);
    results["models"][variants[i].name]["config"] = json::parse(to_json(variants[i].cfg));
    results["models"][variants[i].name]["train_s"] = trained[i].train_s;
    t.rows.push_back({variants[i].name, pct(mean_rel(s.mixtures, ds.mixtures)), pct(mean_rel(s.onehot, ds.onehot)),
                      pct(mean_rel(s.target_hist, ds.target_hist)), pct(mean_rel(s.target_fit, ds.target_fit)),
                      pct(mean_rel(s.uniform, ds.uniform)), pct(mean_rel(s.target_finetuned, ds.target_finetuned)),
                      bench::fmt("%.0f", trained[i].train_s)});
    std::fprintf(stderr, "%s: mixtures %s one-hot %s targets %s / %s uniform %s\n", variants[i].name.c_str(),
                 t.rows.back()[1].c_str(), t.rows.back()[2].c_str(), t.rows.back()[3].c_str(),
                 t.rows.back()[4].c_str(), t.rows.back()[5].c_str());
  }
  // Curves: the gap at each kept step (specialists and dense of the same step).
  if (curve_every > 0) {
    for (size_t c = 0; c < dense.intermediate.size(); ++c) {
      const auto [step, path] = dense.intermediate[c];
      const Scores dc = evaluate_model(path, false, d, false, args.threads);
      results["curve"]["dense"][std::to_string(step)] = scores_json(dc);
      for (size_t i = 0; i < variants.size(); ++i) {
        if (c >= trained[i].intermediate.size()) continue;
        const Scores sc = evaluate_model(trained[i].intermediate[c].second, variants[i].cfg.train.kind == ModelKind::kSoup, d,
                                         false, args.threads);
        results["curve"][variants[i].name][std::to_string(step)] = scores_json(sc);
        std::fprintf(stderr, "curve %s step %lld: mixtures %s one-hot %s targets %s\n", variants[i].name.c_str(),
                     (long long)step, pct(mean_rel(sc.mixtures, dc.mixtures)).c_str(),
                     pct(mean_rel(sc.onehot, dc.onehot)).c_str(),
                     pct(mean_rel(sc.target_hist, dc.target_hist)).c_str());
      }
    }
  }
  std::printf("%s", t.markdown().c_str());
  const std::string json_out = args.get("json", (fs::path(work) / "results.json").string());
  std::ofstream(json_out) << results.dump(1);
  std::fprintf(stderr, "wrote %s\n", json_out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_specialists: %s\n", e.what());
  return 1;
}
