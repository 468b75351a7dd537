#include "engine/nn/models/posthoc_model.h"

#include <algorithm>
#include <filesystem>

#include "souplab/error.h"
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
