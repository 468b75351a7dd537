// Opening merge inputs, merging them, and exporting the result like a specialist.
#include "souplab/merge.h"

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/runner.h"

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
  auto model = Model::load(path, "cpu");
  MergeModel m;
  m.path = path;
  m.label = path;
  m.facts = model->facts();
  if (model->capabilities().can_instantiate) {
    m.h = model->parse_weights(weights.empty() ? "uniform" : weights);
    m.label += "@" + m.h.format();
  }
  m.specialist = model->instantiate_dense(m.h);
  m.theta = m.specialist->parameters();
  return m;
}

std::shared_ptr<const MergedModel> merge_models(const std::vector<const MergeModel*>& models,
                                                const std::vector<double>& weights, const MergeModel* base,
                                                const MergeParams& params) {
  validate(params);
  if (models.empty()) throw Error("merge: no models to merge");
  if (!merge_method_uses_base(params.method)) base = nullptr;
  else if (!base)
    throw Error(std::string("merge: ") + merge_method_name(params.method) +
                " merges task vectors (model - base) and needs a base model");
  const MergeModel& ref = base ? *base : *models.front();
  std::vector<const float*> thetas;
  const ParamLayout layout = gpt_param_layout(ref.config());
  for (const MergeModel* m : models) {
    if (!same_config(m->config(), ref.config()))
      throw Error(m->path + ": model config (" + describe_config(m->config()) + ") differs from that of " +
                  ref.path + " (" + describe_config(ref.config()) + "); merged models must share one");
    if (int64_t(m->theta.size()) != layout.total) throw file_error(m->path, "parameter count does not match its config");
    thetas.push_back(m->theta.data());
  }
  std::vector<std::string> inputs;
  for (const MergeModel* m : models) inputs.push_back(m->label);
  std::vector<const MergeModel*> sources;
  if (base) sources.push_back(base);
  sources.insert(sources.end(), models.begin(), models.end());
  return std::make_shared<MergedModel>(sources, ref.config(),
                                       merge_thetas(layout, thetas, weights, base ? base->theta.data() : nullptr, params),
                                       params, std::move(inputs), weights, base ? base->label : std::string());
}

MergedModel::MergedModel(const std::vector<const MergeModel*>& sources, ModelConfig config,
                         std::vector<float> theta, MergeParams params, std::vector<std::string> inputs,
                         std::vector<double> weights, std::string base)
    : params_(params), inputs_(std::move(inputs)), weights_(std::move(weights)), base_(std::move(base)) {
  facts_.kind = ModelKind::kMerged;
  facts_.run_name = std::string("merge: ") + merge_method_name(params_.method) + " of " +
                    std::to_string(inputs_.size()) + " models";
  facts_.config.model = config;
  facts_.config.bank.n_experts = 0;
  facts_.counts = param_counts(config, facts_.config.bank, 0);
  facts_.device = "cpu";
  for (const MergeModel* s : sources)
    if (!s->facts.corpus_dir.empty()) {
      facts_.domains = s->facts.domains;
      facts_.corpus_dir = s->facts.corpus_dir;
      facts_.cache_dir = s->facts.cache_dir;
      break;
    }
  auto t = torch::tensor(theta, torch::kFloat32);  // copies
  specialist_ = std::make_shared<DenseSpecialist>(std::make_shared<detail::DenseRunner>(t, config),
                                                  DomainWeights(), 0.0);
}

std::vector<float> MergedModel::theta() const { return specialist_->parameters(); }

ModelCapabilities MergedModel::capabilities() const { return {false, !facts_.domains.empty(), true, false}; }

std::shared_ptr<const Specialist> MergedModel::instantiate(const DomainWeights& h) const {
  return instantiate_dense(h);
}

// One model for every h.
std::shared_ptr<const DenseSpecialist> MergedModel::instantiate_dense(const DomainWeights&) const {
  return specialist_;
}

std::shared_ptr<const ValidationSet> merge_validation_set(const std::vector<const MergeModel*>& sources,
                                                          int windows_per_domain) {
  std::string why;
  for (const MergeModel* m : sources) {
    if (!m || m->facts.corpus_dir.empty()) continue;
    try {
      return ValidationSet::for_model(m->facts, windows_per_domain);
    } catch (const Error& e) {
      why = e.what();
    }
  }
  throw Error(why.empty() ? "merge: no input records a training corpus (only checkpoints do), so there is "
                            "no validation data"
                          : why);
}

std::string describe_merge(const MergedModel& m) {
  const MergeParams& p = m.params();
  std::string s = merge_method_name(p.method);
  std::vector<std::string> params;
  if (merge_method_uses_density(p.method)) params.push_back("density " + number(p.density));
  if (merge_method_uses_base(p.method)) params.push_back("lambda " + number(p.lambda));
  if (p.method == MergeMethod::kDare || p.method == MergeMethod::kDareTies)
    params.push_back("seed " + std::to_string(p.seed));
  if (!params.empty()) {
    s += " (";
    for (size_t i = 0; i < params.size(); ++i) s += (i ? ", " : "") + params[i];
    s += ")";
  }
  s += " of ";
  for (size_t i = 0; i < m.inputs().size(); ++i)
    s += (i ? ", " : "") + m.inputs()[i] + " (weight " + number(m.weights()[i]) + ")";
  if (!m.base().empty()) s += " on base " + m.base();
  return s;
}

ModelExportResult MergedModel::export_specialist(const DomainWeights&, const std::string& out_dir,
                                                 const ModelExportOptions& options,
                                                 std::vector<std::string>* notes,
                                                 const ModelExportProgress& progress) const {
  const auto note = [&](const std::string& text) {
    if (notes) notes->push_back(text);
  };
  const auto report = [&](const std::string& stage) {
    if (progress) progress(stage);
  };
  nlohmann::json j;
  j["method"] = merge_method_name(params_.method);
  j["lambda"] = params_.lambda;
  j["density"] = params_.density;
  j["seed"] = params_.seed;
  j["base"] = base_;
  j["models"] = inputs_;
  j["weights"] = weights_;

  SpecialistCard card;
  card.run_kind = ModelKind::kMerged;
  card.run_name = facts_.run_name;
  std::vector<double> losses = options.known_losses;
  if (losses.empty() && options.with_losses) {
    report("evaluating");
    try {
      losses = specialist_->evaluate(*ValidationSet::for_model(facts_, options.windows));
    } catch (const std::exception& e) {  // e.g. the corpus is gone: export without losses
      note(std::string("no validation losses in the card: ") + e.what());
    }
  }
  if (!losses.empty() && losses.size() == facts_.domains.size()) {
    card.domain_names = facts_.domains;
    card.val_losses = losses;
  }
  std::ostringstream n;
  n << "## Merge\n\n- method: `" << merge_method_name(params_.method) << "`";
  if (merge_method_uses_density(params_.method)) n << ", density " << params_.density;
  if (merge_method_uses_base(params_.method)) n << ", lambda " << params_.lambda;
  if (params_.method == MergeMethod::kDare || params_.method == MergeMethod::kDareTies)
    n << ", seed " << params_.seed;
  n << "\n";
  if (!base_.empty()) n << "- base: `" << base_ << "`\n";
  n << "\n| model | weight |\n|---|---|\n";
  for (size_t i = 0; i < inputs_.size(); ++i) n << "| `" << inputs_[i] << "` | " << weights_[i] << " |\n";
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
    info.kind = model_kind_name(ModelKind::kMerged);
    info.config_json = j.dump();
    run_id = owned->create_run(info);
    log = owned.get();
    card.run_id = std::to_string(run_id);
  } catch (const std::exception& e) {
    note(std::string("merge not logged in the run log: ") + e.what());
  }

  ModelExportResult result;
  result.val_losses = card.val_losses;
  const ParamLayout layout = gpt_param_layout(config());
  try {
    const std::vector<float> values = theta();
    static_cast<ExportResult&>(result) =
        souplab::export_specialist(config(), layout, values.data(), card, out_dir, options.format, options.overwrite,
                                   [&](const std::string& file) { report("writing " + file); });
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
    report("logging");
    try {
      ExportRecord rec;
      rec.run_id = run_id;
      rec.domain_weights_json = "{}";
      rec.path = result.dir;
      rec.format = export_format_name(options.format);
      nlohmann::json per_domain = nlohmann::json::object();
      for (size_t i = 0; i < card.val_losses.size(); ++i) per_domain[card.domain_names[i]] = card.val_losses[i];
      rec.losses_json = per_domain.dump();
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
