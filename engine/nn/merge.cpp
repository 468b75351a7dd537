// Opening merge inputs, merging them, and exporting the result like a specialist.
#include "souplab/merge.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/export/logged_export.h"
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

MixingRole MergedModel::mixing_role(const DomainWeights& h, const ValidationSet*, int) const {
  resolve(h);
  return merge_mixing_role(merge_method_name(params_.method), inputs_, weights_, base_, params_.lambda);
}

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
  const std::vector<double> losses = export_card_losses(
      options, [&](int windows) { return specialist_->evaluate(*ValidationSet::for_model(facts_, windows)); }, notes,
      progress);
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
  card.merge_json = j.dump();

  // A merge is a run of its own (kind "merged"), created before the folder so the card names it.
  ExportRunRecord record;
  record.new_run.emplace();
  record.new_run->name = card.run_name;
  record.new_run->kind = model_kind_name(ModelKind::kMerged);
  record.new_run->config_json = j.dump();
  const std::vector<float> values = theta();
  return write_logged_export(config(), values.data(), card, out_dir, options, record, notes, progress);
}

}  // namespace souplab
