// souplab-cli experts / phatgoose / wemoe / compare: post-hoc experts and the comparison table.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "souplab/atomic_file.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "souplab/compare.h"
#include "souplab/posthoc.h"

namespace souplab::cli {
namespace {

// The defaults shown and used are the option structs' own (souplab/posthoc.h).
std::string text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Args& common_flags(Args& a) {
  const PosthocCommon d;
  return a.flag("out", "DIR", "output folder (required; written atomically)")
      .option("overwrite", "replace an existing output folder")
      .flag("corpus", "DIR", "corpus folder (default: the base's)")
      .flag("cache", "DIR", "token cache folder (default: the base's)")
      .flag("batch", "N", "sequences per step", std::to_string(d.batch_size))
      .flag("windows", "N", "validation windows per domain for the logged losses", std::to_string(d.eval_windows))
      .flag("seed", "N", "random seed", std::to_string(d.seed))
      .flag("device", "DEV", "auto | cpu | cuda | cuda:N", d.device)
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("quiet", "no progress lines");
}

void fill_common(const Args& a, PosthocCommon* o) {
  o->corpus_dir = a.get("corpus");
  o->cache_dir = a.get("cache");
  o->batch_size = int(a.get_int("batch", o->batch_size));
  o->eval_windows = int(a.get_int("windows", o->eval_windows));
  o->seed = uint64_t(a.get_int("seed", int64_t(o->seed)));
  o->device = a.get("device", o->device);
  o->run_log_path = a.get("run-log");
  o->overwrite = a.has("overwrite");
  if (o->batch_size < 1) a.usage_error("--batch must be >= 1");
  if (o->eval_windows < 1) a.usage_error("--windows must be >= 1");
  if (!a.has("quiet")) {
    o->on_message = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
    o->on_progress = [](const PosthocProgress& p) {
      if (p.step % 50 == 0 || p.step == p.total_steps)
        std::fprintf(stderr, "  %s: step %lld/%lld, loss %.4f\n", p.stage.c_str(),
                     static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss);
    };
  }
}

std::string required_out(const Args& a) { return a.required("out"); }

}  // namespace

int cmd_experts(int argc, char** argv) {
  Args a("experts", "souplab-cli experts BASE --kind lora|full --out DIR [--rank 16] [--steps N]",
         "From a generic base (dense checkpoint, soup checkpoint at its training mixture, or an\n"
         "exported specialist), trains one expert per domain on that domain only: a LoRA adapter\n"
         "on every linear layer (base frozen, output scaled by 1/r) or a full fine-tune. Each\n"
         "expert is a run in the run log. Full experts are exported specialist folders.");
  ExpertsOptions o;
  common_flags(a).flag("kind", "KIND", "lora | full", expert_kind_name(o.kind))
      .flag("rank", "R", "LoRA rank", std::to_string(o.rank))
      .flag("steps", "N", "optimiser steps per expert", std::to_string(o.steps))
      .flag("lr", "X", "learning rate (default 2e-2 for LoRA, 1e-3 for full)", "")
      .flag("domains", "A,B", "train experts for these domains only", "all");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  fill_common(a, &o);
  if (a.has("kind") && !parse_expert_kind(a.get("kind"), &o.kind))
    a.usage_error("--kind must be \"lora\" or \"full\", got \"" + a.get("kind") + "\"");
  o.rank = int(a.get_int("rank", o.rank));
  o.steps = a.get_int("steps", o.steps);
  o.lr = a.get_double("lr", o.lr);
  if (a.has("domains")) o.domains = split_list(a.get("domains"));
  const auto r = train_experts(a.positional_at(0, "BASE"), required_out(a), o);
  std::printf("%s experts in %s\n  %-20s %10s %10s %8s\n", expert_kind_name(o.kind), r.dir.c_str(), "domain",
              "base", "expert", "run");
  for (size_t i = 0; i < r.domains.size(); ++i)
    std::printf("  %-20s %10.4f %10.4f %8lld\n", r.domains[i].c_str(), r.own_loss_base[i],
                r.own_loss_expert[i], static_cast<long long>(r.run_ids[i]));
  return 0;
}

int cmd_phatgoose(int argc, char** argv) {
  Args a("phatgoose", "souplab-cli phatgoose LORA_EXPERTS_DIR --out DIR [--router phatgoose]",
         "Routes per token among LoRA experts (PHATGOOSE): trains a gate vector per expert and\n"
         "module on the expert's own domain (everything else frozen), then at inference scores\n"
         "experts by LN(u).LN(v)/sqrt(d), keeps the top k, renormalises and mixes their outputs.\n"
         "Baselines with the same machinery: prototype (mean module inputs), arrow (first\n"
         "singular vector of each B.A), merged (the average of the experts).");
  PhatgooseOptions o;
  common_flags(a).flag("router", "R", "phatgoose | prototype | arrow | merged", router_name(o.router))
      .flag("gate-steps", "N", "gate training steps per expert", std::to_string(o.gate_steps))
      .flag("gate-lr", "X", "gate learning rate", text(o.gate_lr))
      .flag("top-k", "K", "experts mixed per token", std::to_string(o.top_k));
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  fill_common(a, &o);
  if (a.has("router") && !parse_router(a.get("router"), &o.router))
    a.usage_error("--router must be phatgoose, prototype, arrow or merged; got \"" + a.get("router") + "\"");
  o.gate_steps = a.get_int("gate-steps", o.gate_steps);
  o.gate_lr = a.get_double("gate-lr", o.gate_lr);
  o.top_k = int(a.get_int("top-k", o.top_k));
  if (o.top_k < 1) a.usage_error("--top-k must be >= 1");
  const auto r = build_phatgoose(a.positional_at(0, "LORA_EXPERTS_DIR"), required_out(a), o);
  std::printf("%s router over LoRA experts in %s\n", router_name(o.router), r.dir.c_str());
  return 0;
}

int cmd_wemoe(int argc, char** argv) {
  Args a("wemoe", "souplab-cli wemoe BASE FULL_EXPERTS_DIR (--target TEXT_OR_DIR | --target-weights H) --out DIR",
         "Weight-ensembling MoE merge of full fine-tuned experts: non-MLP parameters by task\n"
         "arithmetic, each MLP's weights theta_0 + sum_i r_i tau_i with a router on the MLP's\n"
         "input (mean over the tokens so far), started equal to task arithmetic and trained on\n"
         "unlabeled target text with the LM loss (Adam).");
  WemoeOptions o;
  common_flags(a).flag("target", "PATH", "unlabeled target text: a file or a folder of files")
      .flag("target-weights", "H", "or: the target is this mixture of the corpus's domains (training split)")
      .flag("steps", "N", "router training steps", std::to_string(o.steps))
      .flag("lr", "X", "Adam learning rate", text(o.lr))
      .flag("lambda", "X", "task-arithmetic scale (the router's starting value)", text(o.lambda))
      .flag("hidden", "N", "router hidden width (0 = model width)", std::to_string(o.router_hidden));
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(2);
  fill_common(a, &o);
  o.target = a.get("target");
  o.steps = a.get_int("steps", o.steps);
  o.lr = a.get_double("lr", o.lr);
  o.lambda = a.get_double("lambda", o.lambda);
  o.router_hidden = int(a.get_int("hidden", o.router_hidden));
  const std::string base = a.positional_at(0, "BASE");
  if (a.has("target-weights")) o.target_weights = Model::load(base, o.device)->parse_weights(a.get("target-weights"));
  const auto r = build_wemoe(base, a.positional_at(1, "FULL_EXPERTS_DIR"), required_out(a), o);
  std::printf("WEMoE in %s (run %lld): held-out target loss %.4f at task arithmetic -> %.4f trained\n",
              r.dir.c_str(), static_cast<long long>(r.run_id), r.target_loss_start, r.target_loss_end);
  return 0;
}

int cmd_compare(int argc, char** argv) {
  Args a("compare", "souplab-cli compare MODEL... [--target H]...",
         "Per-domain and target validation losses of any models side by side: soup or dense\n"
         "checkpoints, exported specialists, post-hoc folders (experts, PHATGOOSE, WEMoE),\n"
         "merged folders. Each column's loss is the model instantiated at that column's h\n"
         "(one-hot for a domain, the target's h for a target); MODEL@H fixes h for all columns.");
  CompareOptions o;
  a.flag("target", "H", "a target mixture, e.g. \"a=0.5,b=0.5\" (or several, ';'-separated)").repeatable()
      .flag("windows", "N", "validation windows per domain", std::to_string(o.windows))
      .flag("corpus", "DIR", "validation corpus (default: the first model's)")
      .flag("cache", "DIR", "token cache folder")
      .flag("device", "DEV", "auto | cpu | cuda | cuda:N", "auto")
      .flag("markdown", "FILE", "also write the table as Markdown to FILE")
      .option("json", "print JSON instead of a table");
  if (!a.parse(argc, argv, 2)) return 0;
  o.windows = int(a.get_int("windows", o.windows));
  o.device = a.get("device", o.device);
  o.corpus_dir = a.get("corpus");
  o.cache_dir = a.get("cache");
  for (const std::string& t : a.get_all("target"))  // each --target adds its mixtures, in order
    for (size_t p = 0; p < t.size();) {
      size_t q = t.find(';', p);
      if (q == std::string::npos) q = t.size();
      if (q > p) o.targets.push_back(t.substr(p, q - p));
      p = q + 1;
    }
  if (a.positional().empty()) a.usage_error("give at least one MODEL");
  const auto r = compare_models(a.positional(), o);
  if (a.has("markdown")) write_file_atomically(a.get("markdown"), compare_markdown(r));
  if (a.has("json")) {
    nlohmann::json j{{"domains", r.domains}};
    for (const auto& tg : r.targets) j["targets"].push_back({{"name", tg.name}, {"h", tg.h.values()}});
    for (const auto& row : r.rows)
      j["models"].push_back({{"spec", row.spec}, {"kind", model_kind_name(row.kind)}, {"domain_loss", row.domain_loss},
                             {"target_loss", row.target_loss}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s", compare_markdown(r).c_str());
  return 0;
}

}  // namespace souplab::cli
