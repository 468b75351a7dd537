#include "engine/nn/models/posthoc_model.h"

#include <algorithm>
#include <filesystem>

#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "engine/nn/runner.h"
#include "engine/nn/validation.h"
#include "souplab/validation_set.h"

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

void RoutingTally::add(int layer, const torch::Tensor& weights) {
  if (sum.size() <= size_t(layer)) {
    sum.resize(size_t(layer) + 1);
    rows.resize(size_t(layer) + 1, 0);
  }
  const torch::Tensor s = weights.detach().to(torch::kCPU, torch::kFloat64).sum(0);
  sum[size_t(layer)] = sum[size_t(layer)].defined() ? sum[size_t(layer)] + s : s;
  rows[size_t(layer)] += weights.size(0);
}

const RoutedPosthocModel::DomainRouting& RoutedPosthocModel::domain_routing(const ValidationSet& windows,
                                                                           int max_windows) const {
  std::lock_guard<std::mutex> lock(routing_mutex_);
  const auto key = std::make_pair(&windows, max_windows);
  if (auto it = routing_.find(key); it != routing_.end()) return it->second;
  torch::NoGradGuard no_grad;
  const ModelConfig& c = facts_.config.model;
  const ParamLayout layout = gpt_param_layout(c);
  constexpr int64_t kBatch = 8;  // windows per forward
  const torch::Tensor& theta = runner_theta_.defined() ? runner_theta_ : theta0_;
  DomainRouting out;
  for (const DomainWindows& d : windows.windows().domains) {
    RoutingTally tally;
    const auto adapter = tallying_adapter(&tally);
    const int64_t W = max_windows > 0 ? std::min<int64_t>(max_windows, d.tokens.size(0)) : d.tokens.size(0);
    const int64_t T = d.tokens.size(1) - 1;
    for (int64_t i = 0; i < W; i += kBatch)
      gpt_forward(theta, c, layout, d.tokens.narrow(0, i, std::min(kBatch, W - i)).narrow(1, 0, T).to(theta.device()),
                  adapter.get());
    std::vector<std::vector<double>> blocks;
    for (size_t l = 0; l < tally.sum.size(); ++l) {
      std::vector<double> mean(experts_.size(), 0.0);
      if (tally.sum[l].defined() && tally.rows[l] > 0)
        for (size_t e = 0; e < mean.size() && int64_t(e) < tally.sum[l].size(0); ++e)
          mean[e] = tally.sum[l][int64_t(e)].item<double>() / double(tally.rows[l]);
      blocks.push_back(std::move(mean));
    }
    out.push_back(std::move(blocks));
  }
  return routing_.emplace(key, std::move(out)).first->second;
}

MixingRole RoutedPosthocModel::mixing_role(const DomainWeights& h_in, const ValidationSet* windows, int max_windows) const {
  const DomainWeights h = resolve(h_in);
  if (!windows) throw file_error(dir_, "the routing is measured on validation windows, and none are loaded");
  const DomainRouting& routing = domain_routing(*windows, max_windows);
  MixingRole r = describe_routing();
  r.columns = experts_;
  const size_t blocks = routing.empty() ? 0 : routing.front().size();
  for (size_t b = 0; b < blocks; ++b) r.rows.push_back("block " + std::to_string(b));
  r.values.assign(blocks, std::vector<double>(experts_.size(), 0.0));
  for (size_t d = 0; d < routing.size() && d < h.size(); ++d)
    for (size_t b = 0; b < blocks && b < routing[d].size(); ++b)
      for (size_t e = 0; e < experts_.size(); ++e) r.values[b][e] += h[d] * routing[d][b][e];
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
