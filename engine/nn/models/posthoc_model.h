#pragma once
// What the post-hoc models (docs/DESIGN.md §1.3, §1.4: LoRA and full experts, PHATGOOSE, WEMoE) share:
// a folder with a manifest.json naming its base model, which is opened first; its facts (domains,
// corpus) are the post-hoc model's, and its dense theta at the training mixture is theta_0.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "souplab/error.h"
#include "engine/nn/models/openers.h"

namespace souplab {

namespace detail {
class AdaptedRunner;
}  // namespace detail

class PosthocModel : public Model {
 public:
  const ModelFacts& facts() const override { return facts_; }
  // "expert chosen": 1 for the expert of h's largest weight (LoRA and full experts). The routed
  // models override it.
  MixingRole mixing_role(const DomainWeights& h, const ValidationSet* windows, int max_windows) const override;

 protected:
  explicit PosthocModel(const ModelSource& source);

  // The manifest's value at `key`, or an Error naming manifest.json and the key.
  template <typename T>
  T manifest(const char* key) const {
    try {
      return manifest_.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      throw missing(key);
    }
  }
  // A path of the manifest: relative ones are relative to the folder.
  std::string manifest_path(const char* key) const;
  // Index of the expert whose domain has the largest weight in h (the first on ties).
  size_t main_expert(const DomainWeights& h) const;

  ModelFacts facts_;
  std::string dir_;
  std::string device_;     // as asked, for models the manifest names
  nlohmann::json manifest_;
  torch::Tensor theta0_;   // the base's dense theta, on this model's device
  std::vector<std::string> experts_;  // each expert's domain, in the manifest's order

 private:
  Error missing(const char* key) const;
  std::vector<int> expert_index_;  // each expert's domain in facts_.domains; -1 if absent
};

// A post-hoc model that is one model for every h, routing or mixing its experts inside the
// forward pass (PHATGOOSE, WEMoE): h is only checked. Subclasses build runner_.
class RoutedPosthocModel : public PosthocModel {
 public:
  ModelCapabilities capabilities() const override;
  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const override;
  // "routed inside": the experts are named; per-token / per-sequence routing is not measured.
  MixingRole mixing_role(const DomainWeights& h, const ValidationSet* windows, int max_windows) const override;

 protected:
  using PosthocModel::PosthocModel;
  std::shared_ptr<const detail::AdaptedRunner> runner_;  // the base with the experts hooked in
};

}  // namespace souplab
