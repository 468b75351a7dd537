// souplab-cli info / eval / generate / export / finetune: everything that opens a bank.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "engine/core/atomic_file.h"
#include "engine/core/domain_weights.h"
#include "engine/core/error.h"
#include "engine/core/param_layout.h"
#include "engine/core/paths.h"
#include "engine/core/run_log.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/bank.h"
#include "engine/nn/device.h"
#include "engine/nn/export_bank_specialist.h"
#include "engine/nn/finetune.h"

namespace souplab::cli {
namespace {

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// h from --weights (default uniform) against the bank's domains.
std::vector<double> weights_for(const Args& a, const BankFacts& f) {
  if (f.domains.empty()) return {};
  return parse_domain_weights(a.get("weights", "uniform"), f.domains);
}

Args& bank_flags(Args& a) {
  return a.flag("weights", "H", "domain weights: uniform | onehot:NAME | 0.2,0.8 | name=0.7,name2=0.3", "uniform")
      .flag("device", "DEV", "auto | cpu | cuda | cuda:N", "auto");
}

// Logs an event for the bank's run, if the run log knows the run. Never fails the command.
void log_event_for(const BankFacts& f, const std::string& run_log, const std::string& kind,
                   const nlohmann::json& detail) {
  if (f.run_id <= 0) return;
  try {
    RunLog log(run_log.empty() ? default_run_log_path() : run_log);
    log.get_run(f.run_id);
    log.log_event(f.run_id, kind, detail.dump());
  } catch (const Error& e) {
    std::fprintf(stderr, "note: not logged in the run log: %s\n", e.what());
  }
}

}  // namespace

int cmd_info(int argc, char** argv) {
  const RunConfig d;
  Args a("info", "souplab-cli info [--config FILE] [--domains K] [size flags]",
         "Prints the libtorch version, the devices, and the parameter counts of a bank config\n"
         "(the default demo bank unless a config or flags say otherwise).");
  a.flag("config", "FILE", "JSON run config")
      .flag("domains", "K", "number of domains k (length of h)", "14")
      .flag("layers", "N", "transformer blocks", std::to_string(d.model.n_layer))
      .flag("width", "N", "model width", std::to_string(d.model.n_embd))
      .flag("heads", "N", "attention heads", std::to_string(d.model.n_head))
      .flag("context", "N", "context length", std::to_string(d.model.block_size))
      .flag("experts", "N", "experts n", std::to_string(d.bank.n_experts))
      .flag("coef-hidden", "N", "coefficient MLP hidden width", std::to_string(d.bank.coef_hidden));
  if (!a.parse(argc, argv, 2)) return 0;
  RunConfig c;
  if (a.has("config")) c = parse_run_config(read_file(a.get("config")), a.get("config"));
  c.model.n_layer = int(a.get_int("layers", c.model.n_layer));
  c.model.n_embd = int(a.get_int("width", c.model.n_embd));
  c.model.n_head = int(a.get_int("heads", c.model.n_head));
  c.model.block_size = int(a.get_int("context", c.model.block_size));
  c.bank.n_experts = int(a.get_int("experts", c.bank.n_experts));
  c.bank.coef_hidden = int(a.get_int("coef-hidden", c.bank.coef_hidden));
  const int k = int(a.get_int("domains", c.bank.n_domains > 0 ? c.bank.n_domains : 14));
  if (k < 1) throw Error("info: --domains must be >= 1");
  validate(c.model);
  validate(c.bank);
  const ParamCounts pc = param_counts(c.model, c.bank, k);
  std::printf("souplab-cli %s\n%s\n%s\ndevices: %s\n\n", SOUPLAB_VERSION, torch_version_string().c_str(),
              cuda_status_string().c_str(), available_devices_string().c_str());
  std::printf("bank: %d layers, width %d, %d heads, context %d, vocab %d; n = %d experts, k = %d domains, coefficient MLP %d hidden\n",
              c.model.n_layer, c.model.n_embd, c.model.n_head, c.model.block_size, c.model.vocab_size,
              c.bank.n_experts, k, c.bank.coef_hidden);
  std::printf("  %-28s %15s\n", "shared (S)", with_commas(pc.shared).c_str());
  std::printf("  %-28s %15s\n", "per expert (E_j)", with_commas(pc.per_expert).c_str());
  std::printf("  %-28s %15s\n", "experts (n x P)", with_commas(pc.experts).c_str());
  std::printf("  %-28s %15s\n", "coefficient MLP", with_commas(pc.coef_mlp).c_str());
  std::printf("  %-28s %15s\n", "total trained", with_commas(pc.total).c_str());
  std::printf("  %-28s %15s\n", "instantiated specialist", with_commas(pc.instantiated).c_str());
  std::printf("  %-28s %15.1f MB (float32)\n", "bank size", double(pc.total) * 4 / 1e6);
  return 0;
}

int cmd_eval(int argc, char** argv) {
  Args a("eval", "souplab-cli eval CHECKPOINT [--weights H]",
         "Instantiates the specialist at h and prints its validation loss on every domain,\n"
         "next to the bank at uniform h.");
  bank_flags(a).flag("windows", "N", "validation windows per domain", "16")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("json", "print JSON instead of a table");
  if (!a.parse(argc, argv, 2)) return 0;
  auto bank = Bank::load(a.positional_at(0, "CHECKPOINT"), a.get("device", "auto"));
  const BankFacts& f = bank->facts();
  const auto h = weights_for(a, f);
  auto spec = bank->instantiate(h);
  auto val = ValidationSet::for_bank(f, int(a.get_int("windows", 16)));
  const auto losses = evaluate_per_domain(*spec, *val);
  const auto reference = f.kind == "soup"
                             ? evaluate_per_domain(*bank->instantiate(uniform_domain_weights(f.domains.size())), *val)
                             : losses;
  nlohmann::json j{{"checkpoint", f.path}, {"step", f.step}, {"weights", h},
                   {"domains", f.domains}, {"loss", losses}, {"loss_uniform", reference},
                   {"instantiate_ms", spec->instantiate_ms()}};
  log_event_for(f, a.get("run-log"), "eval", j);
  if (a.has("json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s (step %lld), specialist at %s, instantiated in %.2f ms\n", f.path.c_str(),
              static_cast<long long>(f.step), format_domain_weights(h, f.domains).c_str(),
              spec->instantiate_ms());
  std::printf("  %-20s %8s %12s %12s\n", "domain", "weight", "specialist", "uniform h");
  double mix = 0, mix_ref = 0;
  for (size_t i = 0; i < f.domains.size(); ++i) {
    std::printf("  %-20s %8.3f %12.4f %12.4f\n", f.domains[i].c_str(), h[i], losses[i], reference[i]);
    mix += h[i] * losses[i];
    mix_ref += h[i] * reference[i];
  }
  std::printf("  %-20s %8s %12.4f %12.4f\n", "on D_h (h-weighted)", "", mix, mix_ref);
  return 0;
}

int cmd_generate(int argc, char** argv) {
  Args a("generate", "souplab-cli generate CHECKPOINT [--weights H] [--prompt TEXT]",
         "Samples text from the specialist at h, streamed to stdout.");
  bank_flags(a).flag("prompt", "TEXT", "text to continue", "a newline")
      .flag("length", "N", "bytes to generate", "300")
      .flag("temperature", "X", "sampling temperature (0 = greedy)", "0.8")
      .flag("top-k", "N", "sample among the N likeliest bytes (0 = all)", "40")
      .flag("seed", "N", "sampling seed", "0");
  if (!a.parse(argc, argv, 2)) return 0;
  auto bank = Bank::load(a.positional_at(0, "CHECKPOINT"), a.get("device", "auto"));
  auto spec = bank->instantiate(weights_for(a, bank->facts()));
  SampleOptions o;
  o.max_new_tokens = int(a.get_int("length", 300));
  o.temperature = a.get_double("temperature", 0.8);
  o.top_k = int(a.get_int("top-k", 40));
  o.seed = uint64_t(a.get_int("seed", 0));
  const std::string prompt = a.get("prompt", "\n");
  std::fputs(prompt.c_str(), stdout);
  generate_text(*spec, prompt, o, [](const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputs("\n", stdout);
  return 0;
}

int cmd_export(int argc, char** argv) {
  Args a("export", "souplab-cli export CHECKPOINT --weights H --out DIR [--format F]",
         "Instantiates the specialist at h and writes it as a folder other tools load:\n"
         "model.safetensors + config.json (GPT-2 names), model.onnx, README.md model card.");
  bank_flags(a).flag("out", "DIR", "output folder (must not exist unless --overwrite)")
      .flag("format", "F", "safetensors | onnx | all", "all")
      .flag("windows", "N", "validation windows per domain for the card's losses", "16")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("overwrite", "replace an existing output folder")
      .option("no-eval", "skip the per-domain validation losses in the card");
  if (!a.parse(argc, argv, 2)) return 0;
  if (!a.has("out")) throw Error("export: --out DIR is required");
  ExportFormat format;
  if (!parse_export_format(a.get("format", "all"), &format))
    throw Error("export: --format must be safetensors, onnx or all, got \"" + a.get("format") + "\"");
  auto bank = Bank::load(a.positional_at(0, "CHECKPOINT"), a.get("device", "auto"));
  BankExportOptions options;
  options.format = format;
  options.overwrite = a.has("overwrite");
  options.with_losses = !a.has("no-eval");
  options.windows = int(a.get_int("windows", 16));
  options.run_log_path = a.get("run-log");
  std::vector<std::string> notes;
  const BankExportResult r =
      export_bank_specialist(*bank, weights_for(a, bank->facts()), a.get("out"), options, &notes);
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::printf("exported %s (%lld parameters):", r.dir.c_str(), static_cast<long long>(r.n_params));
  for (const auto& file : r.files) std::printf(" %s", file.c_str());
  std::printf("\n");
  return 0;
}

int cmd_finetune(int argc, char** argv) {
  Args a("finetune", "souplab-cli finetune MODEL --target TEXT --out DIR [--weights H] [--steps K]",
         "Instantiates the specialist at h (any dense model as it is), fine-tunes it for K steps on\n"
         "a target text (a file or a folder of text files) and exports it like a specialist. The\n"
         "target's end (--holdout) is never trained on; the loss there is printed before and after,\n"
         "so a soup specialist and a dense model fine-tuned the same K steps can be compared.");
  bank_flags(a).flag("target", "TEXT", "text file or folder to fine-tune on")
      .flag("out", "DIR", "output folder (must not exist unless --overwrite)")
      .flag("steps", "K", "AdamW steps", "100")
      .flag("lr", "X", "peak learning rate (warm-up 10%, cosine to 0.1x)", "3e-4")
      .flag("batch", "N", "windows of the model's context per step", "8")
      .flag("holdout", "F", "share of the target (its end) kept out of training", "0.2")
      .flag("seed", "N", "which training windows", "1234")
      .flag("format", "F", "safetensors | onnx | all", "all")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("overwrite", "replace an existing output folder");
  if (!a.parse(argc, argv, 2)) return 0;
  if (!a.has("target")) throw Error("finetune: --target TEXT is required");
  if (!a.has("out")) throw Error("finetune: --out DIR is required");
  ExportFormat format;
  if (!parse_export_format(a.get("format", "all"), &format))
    throw Error("finetune: --format must be safetensors, onnx or all, got \"" + a.get("format") + "\"");
  std::error_code ec;
  if (!a.has("overwrite") && std::filesystem::exists(a.get("out"), ec))
    throw file_error(a.get("out"), "already exists; choose another folder or pass --overwrite");
  auto bank = Bank::load(a.positional_at(0, "MODEL"), a.get("device", "auto"));
  const BankFacts& f = bank->facts();
  const auto h = weights_for(a, f);
  auto start = bank->instantiate(h);
  FinetuneOptions o;
  o.steps = a.get_int("steps", 100);
  o.lr = a.get_double("lr", 3e-4);
  o.batch_size = int(a.get_int("batch", 8));
  o.holdout = a.get_double("holdout", 0.2);
  o.seed = uint64_t(a.get_int("seed", 1234));
  o.device = a.get("device", "auto");
  o.progress = [](int64_t step, int64_t steps, double loss) {
    if (step % 10 == 0 || step == steps) std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f", (long long)step, (long long)steps, loss);
    return true;
  };
  const FinetuneResult r = finetune_on_text(*start, a.get("target"), o);
  std::fprintf(stderr, "\n");
  const std::string what = f.kind == "soup" ? "the specialist at " + format_domain_weights(h, f.domains) : f.kind + " model";
  std::printf("fine-tuned %s of %s for %lld steps in %.1f s\n", what.c_str(), f.path.c_str(),
              static_cast<long long>(r.steps), r.seconds);
  std::printf("held-out target loss (%d windows): %.4f before, %.4f after (%+.2f%%)\n", r.eval_windows,
              r.loss_before, r.loss_after, 100.0 * (r.loss_after - r.loss_before) / r.loss_before);

  SpecialistCard card;
  card.run_kind = "finetune";
  card.run_name = "fine-tuned on " + std::filesystem::path(a.get("target")).filename().string();
  card.step = f.step;
  card.source_checkpoint = f.path;
  card.domain_names = f.domains;
  card.h = h;
  card.notes = "## Fine-tuning\n\n- source: `" + f.path + "` (" + what + ")\n- target: `" + a.get("target") +
               "`\n- steps " + std::to_string(r.steps) + ", lr " + a.get("lr", "3e-4") + ", batch " +
               std::to_string(o.batch_size) + "\n- held-out target loss " + std::to_string(r.loss_before) +
               " before, " + std::to_string(r.loss_after) + " after\n";
  nlohmann::json detail{{"source", f.path}, {"weights", h}, {"target", a.get("target")}, {"steps", r.steps},
                        {"lr", o.lr}, {"batch", o.batch_size}, {"holdout", o.holdout},
                        {"loss_before", r.loss_before}, {"loss_after", r.loss_after}};
  try {  // a fine-tune is a run of its own, child of the source's run when the log knows it
    RunLog log(a.get("run-log").empty() ? default_run_log_path() : a.get("run-log"));
    RunInfo info;
    info.name = card.run_name;
    info.kind = "finetune";
    info.config_json = detail.dump();
    try {
      if (f.run_id > 0 && log.get_run(f.run_id).id == f.run_id) info.parent_run_id = f.run_id;
    } catch (const Error&) {
    }
    const int64_t id = log.create_run(info);
    card.run_id = std::to_string(id);
    log.log_metrics(id, {{r.steps, "target", "", "loss_before", r.loss_before, 0},
                         {r.steps, "target", "", "loss", r.loss_after, 0}});
    log.set_run_status(id, "finished", iso8601_utc_now());
  } catch (const Error& e) {
    std::fprintf(stderr, "note: not logged in the run log: %s\n", e.what());
  }
  const ParamLayout layout = gpt_param_layout(r.model);
  const ExportResult ex = export_specialist(r.model, layout, r.theta.data(), card, a.get("out"), format, a.has("overwrite"));
  std::printf("exported %s:", ex.dir.c_str());
  for (const auto& file : ex.files) std::printf(" %s", file.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace souplab::cli
