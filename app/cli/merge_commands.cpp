// souplab-cli merge: mergekit-style merges of exported specialists and checkpoints.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "souplab/error.h"
#include "souplab/export.h"
#include "souplab/merge.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"

namespace souplab::cli {
namespace {

struct InputSpec {
  std::string path, h;
  double weight = 1.0;
};

// PATH[@H][:WEIGHT]. The weight is what follows the last ':' when it is a number (so "onehot:NAME"
// in H is not mistaken for one); H is what follows the last '@' unless PATH itself exists.
InputSpec parse_input(const std::string& text, bool allow_weight) {
  InputSpec s;
  std::string rest = text;
  if (const auto colon = rest.rfind(':'); allow_weight && colon != std::string::npos) {
    const std::string tail = rest.substr(colon + 1);
    char* end = nullptr;
    const double w = std::strtod(tail.c_str(), &end);
    if (!tail.empty() && *end == '\0') {
      s.weight = w;
      rest.resize(colon);
    }
  }
  std::error_code ec;
  if (const auto at = rest.rfind('@'); at != std::string::npos && !std::filesystem::exists(rest, ec)) {
    s.h = rest.substr(at + 1);
    rest.resize(at);
  }
  if (rest.empty()) throw Error("merge: \"" + text + "\" names no model");
  s.path = rest;
  return s;
}

}  // namespace

int cmd_merge(int argc, char** argv) {
  Args a("merge",
         "souplab-cli merge --method M [--base BASE] MODEL[:WEIGHT]... --out DIR [flags]",
         "Merges models into one dense model and writes it like `export` does (model.safetensors +\n"
         "config.json, model.onnx, README.md model card stating the method, inputs and weights).\n"
         "MODEL and BASE are exported specialist folders, model.safetensors files or checkpoints;\n"
         "a soup checkpoint is instantiated at PATH@H (H as in --weights of eval; default uniform),\n"
         "e.g. bank.ckpt@onehot:code_c:0.5. WEIGHT defaults to 1. Methods (mergekit semantics):\n"
         "  linear           sum w_i x_i / sum w_i (no base)\n"
         "  task_arithmetic  base + lambda * sum w_i (x_i - base)\n"
         "  ties             trim each task vector to its top density fraction per tensor, elect\n"
         "                   signs, base + lambda * disjoint mean of the agreeing entries\n"
         "  dare             drop entries with probability 1-density, rescale by 1/density, then\n"
         "                   base + lambda * sum w_i tau_i (dare_linear)\n"
         "  dare_ties        DARE's drop and rescale with TIES's sign election (no mean)");
  a.flag("method", "M", "linear | task_arithmetic | ties | dare | dare_ties")
      .flag("base", "BASE", "base model for task vectors (required by all methods but linear)")
      .flag("lambda", "X", "scale of the merged task vector", "1.0")
      .flag("density", "X", "fraction of each task vector kept by ties / dare, in (0, 1]", "0.5")
      .flag("seed", "N", "seed of DARE's drop mask", "0")
      .flag("out", "DIR", "output folder (must not exist unless --overwrite)")
      .flag("format", "F", "safetensors | onnx | gguf (= gguf-f16) | gguf-q8_0 | gguf-f32 | all (safetensors, onnx, gguf-f16)", "all")
      .flag("windows", "N", "validation windows per domain for the card's losses", "16")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("overwrite", "replace an existing output folder")
      .option("no-eval", "skip the per-domain validation losses in the card");
  if (!a.parse(argc, argv, 2)) return 0;
  if (!a.has("method")) a.usage_error("--method is required (linear, task_arithmetic, ties, dare, dare_ties)");
  MergeParams p;
  if (!parse_merge_method(a.get("method"), &p.method))
    a.usage_error("unknown --method \"" + a.get("method") + "\" (linear, task_arithmetic, ties, dare, dare_ties)");
  p.lambda = a.get_double("lambda", 1.0);
  p.density = a.get_double("density", 0.5);
  const int64_t seed = a.get_int("seed", 0);
  if (seed < 0) a.usage_error("--seed must be >= 0");
  p.seed = uint64_t(seed);
  try {  // every parameter comes from a flag
    validate(p);
  } catch (const Error& e) {
    a.usage_error(e.what());
  }
  a.required("out");
  ExportFormat format;
  if (!parse_export_format(a.get("format", "all"), &format))
    a.usage_error("--format must be safetensors, onnx, gguf, gguf-f16, gguf-q8_0, gguf-f32 or all, got \"" + a.get("format") + "\"");
  if (a.positional().empty()) a.usage_error("no models given");
  if (merge_method_uses_base(p.method) && !a.has("base"))
    a.usage_error(std::string(merge_method_name(p.method)) + " merges task vectors (model - base) and needs --base BASE");
  if (!merge_method_uses_base(p.method) && a.has("base"))
    a.usage_error("linear averages the models and takes no --base");

  std::vector<MergeModel> models;
  std::vector<double> weights;
  for (const auto& text : a.positional()) {
    const InputSpec s = parse_input(text, true);
    models.push_back(load_merge_model(s.path, s.h));
    weights.push_back(s.weight);
  }
  std::optional<MergeModel> base;
  if (a.has("base")) {
    const InputSpec s = parse_input(a.get("base"), false);
    base = load_merge_model(s.path, s.h);
  }
  std::vector<const MergeModel*> ptrs;
  for (const auto& m : models) ptrs.push_back(&m);
  const auto merged = merge_models(ptrs, weights, base ? &*base : nullptr, p);
  std::printf("merged: %s\n", describe_merge(*merged).c_str());

  std::vector<std::string> notes;
  ModelExportOptions o;
  o.format = format;
  o.overwrite = a.has("overwrite");
  o.run_log_path = a.get("run-log");
  o.with_losses = false;
  if (!a.has("no-eval")) {
    std::vector<const MergeModel*> sources;
    if (base) sources.push_back(&*base);
    sources.insert(sources.end(), ptrs.begin(), ptrs.end());
    try {
      auto val = merge_validation_set(sources, int(a.get_int("windows", 16)));
      o.known_losses = merged->instantiate({})->evaluate(*val);
      for (size_t i = 0; i < o.known_losses.size(); ++i)
        std::printf("  %-20s %8.4f\n", val->domains()[i].c_str(), o.known_losses[i]);
    } catch (const Error& e) {
      notes.push_back(std::string("no validation losses in the card: ") + e.what());
    }
  }
  const ModelExportResult r = merged->export_specialist({}, a.get("out"), o, &notes);
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::printf("exported %s (%lld parameters):", r.dir.c_str(), static_cast<long long>(r.n_params));
  for (const auto& file : r.files) std::printf(" %s", file.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace souplab::cli
