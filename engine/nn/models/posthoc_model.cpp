#include "engine/nn/models/posthoc_model.h"

#include <algorithm>
#include <filesystem>

#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "engine/nn/runner.h"

namespace souplab {

PosthocModel::PosthocModel(const ModelSource& source)
    : dir_(source.path), device_(source.device), manifest_(source.manifest) {
  const auto base = Model::load(manifest_path("base"), device_);
  facts_ = base->facts();
  theta0_ = base->instantiate_dense(facts_.training_mixture)->dense_runner().theta();
  facts_.path = dir_;
  facts_.kind = source.kind;
  facts_.run_name = manifest_.value("name", std::string(model_kind_name(source.kind)));
  experts_ = manifest<std::vector<std::string>>("experts");
  for (const auto& d : experts_) {
    auto it = std::find(facts_.domains.begin(), facts_.domains.end(), d);
    expert_index_.push_back(it == facts_.domains.end() ? -1 : int(it - facts_.domains.begin()));
  }
}

std::string PosthocModel::manifest_path(const char* key) const {
  const std::filesystem::path p(manifest<std::string>(key));
  return p.is_absolute() ? p.string() : (std::filesystem::path(dir_) / p).string();
}

size_t PosthocModel::main_expert(const DomainWeights& h) const {
  size_t best = 0;
  double best_w = -1;
  for (size_t i = 0; i < expert_index_.size(); ++i) {
    const int d = expert_index_[i];
    const double w = d >= 0 && size_t(d) < h.size() ? h[size_t(d)] : 0;
    if (w > best_w) best = i, best_w = w;
  }
  return best;
}

MixingRole PosthocModel::mixing_role(const DomainWeights& h_in, const ValidationSet*, int) const {
  const size_t chosen = main_expert(resolve(h_in));
  MixingRole r;
  r.role = "expert chosen";
  r.columns = experts_;
  r.rows = {"chosen"};
  r.values = {std::vector<double>(experts_.size(), 0.0)};
  if (chosen < experts_.size()) r.values[0][chosen] = 1.0;
  const std::string name = chosen < experts_.size() ? experts_[chosen] : std::string("?");
  r.formula = facts_.kind == ModelKind::kLoraExperts
                  ? "theta = theta_0 + B A of the " + name + " expert (LoRA on the frozen base)"
                  : "theta = the " + name + " expert (theta_0 fine-tuned on " + name + ")";
  r.note = "h picks one expert, the one of its largest weight: no mixing between experts.";
  return r;
}

MixingRole RoutedPosthocModel::mixing_role(const DomainWeights& h_in, const ValidationSet*, int) const {
  resolve(h_in);  // checked, as instantiate does
  MixingRole r;
  r.role = "routed inside";
  r.columns = experts_;
  const bool wemoe = facts_.kind == ModelKind::kWemoe;
  r.formula = wemoe ? "theta = task arithmetic of the experts outside the MLPs; each MLP mixes the experts' MLPs "
                      "with weights its router gives per sequence"
                    : "per token: the base plus the LoRA updates of the experts its router picks";
  r.note = "The same model for every h: the routing happens inside, per " + std::string(wemoe ? "sequence" : "token") +
           ", and is not measured here.";
  return r;
}

ModelCapabilities RoutedPosthocModel::capabilities() const {
  return {false, !facts_.domains.empty(), false, false};
}

std::shared_ptr<const Specialist> RoutedPosthocModel::instantiate(const DomainWeights& h) const {
  return std::make_shared<Specialist>(runner_, resolve(h), 0.0);
}

Error PosthocModel::missing(const char* key) const {
  return file_error(dir_ + "/manifest.json", std::string("missing or malformed \"") + key + "\"");
}

}  // namespace souplab
