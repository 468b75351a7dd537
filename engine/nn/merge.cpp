// Opening merge inputs, merging them, and exporting the result like a specialist.
#include "engine/nn/merge.h"

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/core/domain_weights.h"
#include "engine/core/error.h"
#include "engine/core/paths.h"
#include "engine/core/run_log.h"
#include "engine/nn/specialist_impl.h"

namespace souplab {
namespace {

std::string describe_config(const ModelConfig& c) {
  return "layers " + std::to_string(c.n_layer) + ", width " + std::to_string(c.n_embd) + ", heads " +
         std::to_string(c.n_head) + ", context " + std::to_string(c.block_size) + ", vocabulary " +
         std::to_string(c.vocab_size);
}

bool same_config(const ModelConfig& a, const ModelConfig& b) {
  return a.vocab_size == b.vocab_size && a.block_size == b.block_size && a.n_layer == b.n_layer &&
         a.n_head == b.n_head && a.n_embd == b.n_embd;
}

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

MergeModel load_merge_model(const std::string& path, const std::string& weights) {
  // The CPU: merging is element-wise arithmetic over a few copies of theta, and the inputs are
  // held as plain floats anyway.
  auto bank = Bank::load(path, "cpu");
  MergeModel m;
  m.path = path;
  m.label = path;
  m.facts = bank->facts();
  std::vector<double> h;
  if (m.facts.kind == "soup") {
    h = parse_domain_weights(weights.empty() ? "uniform" : weights, m.facts.domains);
    m.h = normalize_domain_weights(h, m.facts.domains.size());
    m.label += "@" + format_domain_weights(m.h, m.facts.domains);
  } else if (!m.facts.domains.empty()) {
    h = uniform_domain_weights(m.facts.domains.size());  // ignored by dense models
  }
  m.theta = bank->instantiate(h)->parameters();
  return m;
}

MergedModel merge_models(const std::vector<const MergeModel*>& models, const std::vector<double>& weights,
                         const MergeModel* base, const MergeParams& params) {
  validate(params);
  if (models.empty()) throw Error("merge: no models to merge");
  if (!merge_method_uses_base(params.method)) base = nullptr;
  else if (!base)
    throw Error(std::string("merge: ") + merge_method_name(params.method) +
                " merges task vectors (model - base) and needs a base model");
  const MergeModel& ref = base ? *base : *models.front();
  std::vector<const float*> thetas;
  const int64_t P = gpt_param_layout(ref.config()).total;
  for (const MergeModel* m : models) {
    if (!same_config(m->config(), ref.config()))
      throw Error(m->path + ": model config (" + describe_config(m->config()) + ") differs from that of " +
                  ref.path + " (" + describe_config(ref.config()) + "); merged models must share one");
    if (int64_t(m->theta.size()) != P) throw file_error(m->path, "parameter count does not match its config");
    thetas.push_back(m->theta.data());
  }
  MergedModel out;
  out.config = ref.config();
  out.params = params;
  out.weights = weights;
  for (const MergeModel* m : models) out.inputs.push_back(m->label);
  if (base) out.base = base->label;
  out.theta = merge_thetas(gpt_param_layout(out.config), thetas, weights, base ? base->theta.data() : nullptr,
                           params);
  return out;
}

std::shared_ptr<const Specialist> dense_specialist(const ModelConfig& config, const std::vector<float>& theta) {
  auto t = torch::tensor(theta, torch::kFloat32);  // copies
  return std::make_shared<SpecialistImpl>(t, config, std::vector<double>{}, 0.0);
}

std::shared_ptr<const ValidationSet> merge_validation_set(const std::vector<const MergeModel*>& sources,
                                                          int windows_per_domain) {
  std::string why;
  for (const MergeModel* m : sources) {
    if (!m || m->facts.corpus_dir.empty()) continue;
    try {
      return ValidationSet::for_bank(m->facts, windows_per_domain);
    } catch (const Error& e) {
      why = e.what();
    }
  }
  throw Error(why.empty() ? "merge: no input records a training corpus (only checkpoints do), so there is "
                            "no validation data"
                          : why);
}

std::string describe_merge(const MergedModel& m) {
  std::string s = merge_method_name(m.params.method);
  std::vector<std::string> params;
  if (merge_method_uses_density(m.params.method)) params.push_back("density " + number(m.params.density));
  if (merge_method_uses_base(m.params.method)) params.push_back("lambda " + number(m.params.lambda));
  if (m.params.method == MergeMethod::kDare || m.params.method == MergeMethod::kDareTies)
    params.push_back("seed " + std::to_string(m.params.seed));
  if (!params.empty()) {
    s += " (";
    for (size_t i = 0; i < params.size(); ++i) s += (i ? ", " : "") + params[i];
    s += ")";
  }
  s += " of ";
  for (size_t i = 0; i < m.inputs.size(); ++i)
    s += (i ? ", " : "") + m.inputs[i] + " (weight " + number(m.weights[i]) + ")";
  if (!m.base.empty()) s += " on base " + m.base;
  return s;
}

MergeExportResult export_merged_model(const MergedModel& merged, const std::string& out_dir,
                                      const MergeExportOptions& options, const std::vector<std::string>& domains,
                                      const std::vector<double>& val_losses, std::vector<std::string>* notes,
                                      const ExportProgress& progress) {
  const auto note = [&](const std::string& text) {
    if (notes) notes->push_back(text);
  };
  nlohmann::json j;
  j["method"] = merge_method_name(merged.params.method);
  j["lambda"] = merged.params.lambda;
  j["density"] = merged.params.density;
  j["seed"] = merged.params.seed;
  j["base"] = merged.base;
  j["models"] = merged.inputs;
  j["weights"] = merged.weights;

  SpecialistCard card;
  card.run_kind = "merge";
  card.run_name = std::string("merge: ") + merge_method_name(merged.params.method) + " of " +
                  std::to_string(merged.inputs.size()) + " models";
  if (val_losses.size() == domains.size()) {
    card.domain_names = domains;
    card.val_losses = val_losses;
  }
  std::ostringstream n;
  n << "## Merge\n\n- method: `" << merge_method_name(merged.params.method) << "`";
  if (merge_method_uses_density(merged.params.method)) n << ", density " << merged.params.density;
  if (merge_method_uses_base(merged.params.method)) n << ", lambda " << merged.params.lambda;
  if (merged.params.method == MergeMethod::kDare || merged.params.method == MergeMethod::kDareTies)
    n << ", seed " << merged.params.seed;
  n << "\n";
  if (!merged.base.empty()) n << "- base: `" << merged.base << "`\n";
  n << "\n| model | weight |\n|---|---|\n";
  for (size_t i = 0; i < merged.inputs.size(); ++i) n << "| `" << merged.inputs[i] << "` | " << merged.weights[i] << " |\n";
  card.notes = n.str();

  // The common refusal before any run row exists, so a mistyped --out leaves no failed run behind.
  std::error_code ec;
  if (!options.overwrite && std::filesystem::exists(out_dir, ec))
    throw file_error(out_dir, "already exists; choose another folder or allow overwriting");
  // The run row first, so the card can name it; it is marked failed if the folder is not written.
  RunLog* log = nullptr;
  std::unique_ptr<RunLog> owned;
  int64_t run_id = 0;
  try {
    owned = std::make_unique<RunLog>(options.run_log_path.empty() ? default_run_log_path() : options.run_log_path);
    RunInfo info;
    info.name = card.run_name;
    info.kind = "merge";
    info.config_json = j.dump();
    run_id = owned->create_run(info);
    log = owned.get();
    card.run_id = std::to_string(run_id);
  } catch (const std::exception& e) {
    note(std::string("merge not logged in the run log: ") + e.what());
  }

  MergeExportResult result;
  const ParamLayout layout = gpt_param_layout(merged.config);
  try {
    static_cast<ExportResult&>(result) = export_specialist(merged.config, layout, merged.theta.data(), card,
                                                           out_dir, options.format, options.overwrite, progress);
  } catch (...) {
    if (log) {
      try {
        log->set_run_status(run_id, "failed", iso8601_utc_now());
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  if (log) {
    try {
      ExportRecord rec;
      rec.run_id = run_id;
      rec.domain_weights_json = "{}";
      rec.path = result.dir;
      rec.format = export_format_name(options.format);
      nlohmann::json losses = nlohmann::json::object();
      for (size_t i = 0; i < card.val_losses.size(); ++i) losses[card.domain_names[i]] = card.val_losses[i];
      rec.losses_json = losses.dump();
      result.export_id = log->log_export(rec);
      log->set_run_status(run_id, "finished", iso8601_utc_now());
      result.run_id = run_id;
    } catch (const std::exception& e) {
      note(std::string("export not logged in the run log: ") + e.what());
    }
  }
  return result;
}

}  // namespace souplab
