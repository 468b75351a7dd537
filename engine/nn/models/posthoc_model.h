#pragma once
// What the post-hoc models (docs/DESIGN.md §1.3, §1.4: LoRA and full experts, PHATGOOSE, WEMoE) share:
// a folder with a manifest.json naming its base model, which is opened first; its facts (domains,
// corpus) are the post-hoc model's, and its dense theta at the training mixture is theta_0.
#include <torch/torch.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "souplab/error.h"
#include "engine/nn/gpt.h"
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

// Each token's routing weights over the experts (N, n), summed per transformer block while a
// forward runs: what a tallying adapter (RoutedPosthocModel::tallying_adapter) feeds.
struct RoutingTally {
  std::vector<torch::Tensor> sum;  // per block: (n) float64
  std::vector<int64_t> rows;       // per block: the rows summed
  void add(int layer, const torch::Tensor& weights);
};

// A post-hoc model that is one model for every h, routing or mixing its experts inside the
// forward pass (PHATGOOSE, WEMoE): h is only checked. Subclasses build runner_.
class RoutedPosthocModel : public PosthocModel {
 public:
  ModelCapabilities capabilities() const override;
  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const override;
  // The routing as measured: per block, the mean weight each expert gets per token on each
  // domain's validation windows (once per window set: the model is the same for every h), mixed
  // by h. An Error without windows.
  MixingRole mixing_role(const DomainWeights& h, const ValidationSet* windows, int max_windows) const override;

 protected:
  using PosthocModel::PosthocModel;
  // An adapter that computes exactly what the model's does and adds every token's routing
  // weights to `tally` (a fresh one per measurement: tallies are not shared between threads).
  virtual std::shared_ptr<const GptAdapter> tallying_adapter(RoutingTally* tally) const = 0;
  // What the measured weights are, in words: the role's name, formula and note.
  virtual MixingRole describe_routing() const = 0;
  std::shared_ptr<const detail::AdaptedRunner> runner_;  // the base with the experts hooked in
  torch::Tensor runner_theta_;  // the theta runner_ runs (theta_0 unless a subclass merged it)

 private:
  using DomainRouting = std::vector<std::vector<std::vector<double>>>;  // [domain][block][expert]
  const DomainRouting& domain_routing(const ValidationSet& windows, int max_windows) const;
  mutable std::mutex routing_mutex_;
  mutable std::map<std::pair<const ValidationSet*, int>, DomainRouting> routing_;
};

}  // namespace souplab
