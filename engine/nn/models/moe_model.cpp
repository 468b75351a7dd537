// A sparse MoE checkpoint opened for exploration: one model for every h, routed per token.
#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/metrics.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "souplab/validation_set.h"
#include "engine/nn/models/openers.h"
#include "engine/nn/moe.h"
#include "engine/nn/runner.h"
#include "engine/nn/validation.h"

namespace souplab {
namespace {

class SparseMoeModel final : public Model {
 public:
  SparseMoeModel(ModelSource source) : facts_(checkpoint_facts(source)) {
    const TrainState& s = source.checkpoint->meta.state;
    auto moe = std::make_shared<MoeModel>(s.config.model, s.config.moe, int(s.domains.size()),
                                          source.torch_device);
    load_parameters(*source.checkpoint, *moe);
    moe_ = moe;
    runner_ = std::make_shared<detail::MoeRunner>(std::move(moe));
  }

  const ModelFacts& facts() const override { return facts_; }
  ModelCapabilities capabilities() const override { return {false, !facts_.domains.empty(), false, false}; }

  // One model for every h: h is checked and otherwise ignored.
  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const override {
    return std::make_shared<Specialist>(runner_, resolve(h), 0.0);
  }

  std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights&) const override {
    throw Error(facts_.path + ": a mixture-of-experts model cannot be exported as a dense GPT-2 "
                "specialist (all its experts ship together and routing is per token)");
  }

  FitResult fit_weights(const std::string&, const FitOptions&) const override {
    throw file_error(facts_.path, "a mixture-of-experts model has no domain weights to fit (it routes per token)");
  }

  // The router's load at h: each domain's share of assignments per block and expert (measured
  // once per window set: the model is the same for every h), mixed by h.
  MixingRole mixing_role(const DomainWeights& h_in, const ValidationSet* windows, int max_windows) const override {
    if (!windows)
      throw file_error(facts_.path, "the router's load is measured on validation windows, and none are loaded");
    const DomainWeights h = resolve(h_in);
    const DomainLoads& loads = domain_loads(*windows, max_windows);
    const int n = facts_.config.moe.n_experts;
    const std::vector<int>& layers = moe_->moe_layers();
    MixingRole r;
    r.role = "router load";
    for (int e = 0; e < n; ++e) r.columns.push_back("E" + std::to_string(e + 1));
    for (int l : layers) r.rows.push_back("block " + std::to_string(l));
    r.values.assign(layers.size(), std::vector<double>(size_t(n), 0.0));
    for (size_t d = 0; d < loads.size() && d < h.size(); ++d)
      for (size_t b = 0; b < layers.size(); ++b)
        for (int e = 0; e < n; ++e) r.values[b][size_t(e)] += h[d] * loads[d][b][size_t(e)];
    r.formula = "per token x, in blocks with experts: MLP(x) = sum over its top-" + std::to_string(facts_.config.moe.top_k) +
                " of " + std::to_string(n) + " experts of g_e(x) MLP_e(x); theta is the same for every h";
    r.note = "Share of each block's token-to-expert assignments that go to each expert, on the domains' "
             "validation windows weighted by h (routing is per token: h only reweights the text).";
    return r;
  }

 private:
  using DomainLoads = std::vector<std::vector<std::vector<double>>>;  // [domain][block][expert]

  const DomainLoads& domain_loads(const ValidationSet& windows, int max_windows) const {
    std::lock_guard<std::mutex> lock(loads_mutex_);
    const auto key = std::make_pair(&windows, max_windows);
    if (auto it = loads_.find(key); it != loads_.end()) return it->second;
    std::vector<DomainWindows> val;
    for (const DomainWindows& d : windows.windows().domains) {
      const int64_t w = max_windows > 0 ? std::min<int64_t>(max_windows, d.tokens.size(0)) : d.tokens.size(0);
      val.push_back({d.name, d.tokens.narrow(0, 0, w)});
    }
    std::vector<Metric> extra;
    moe_->evaluate(val, 0, &extra);
    const std::vector<int>& layers = moe_->moe_layers();
    const int n = facts_.config.moe.n_experts;
    DomainLoads out(val.size(), std::vector<std::vector<double>>(layers.size(), std::vector<double>(size_t(n), 0.0)));
    const std::string prefix = metric_key::kExpertLoadPrefix;  // "expert_load/L<l>/E<e>"
    for (const Metric& m : extra) {
      if (m.name.compare(0, prefix.size(), prefix) != 0) continue;
      const size_t slash = m.name.find("/E", prefix.size());
      const int layer = std::stoi(m.name.substr(prefix.size(), slash - prefix.size()));
      const int e = std::stoi(m.name.substr(slash + 2));
      const auto b = std::find(layers.begin(), layers.end(), layer) - layers.begin();
      for (size_t d = 0; d < val.size(); ++d)
        if (val[d].name == m.domain && size_t(b) < layers.size() && e >= 0 && e < n) out[d][size_t(b)][size_t(e)] = m.value;
    }
    return loads_.emplace(key, std::move(out)).first->second;
  }

  ModelFacts facts_;
  std::shared_ptr<const MoeModel> moe_;
  std::shared_ptr<const detail::MoeRunner> runner_;
  mutable std::mutex loads_mutex_;
  mutable std::map<std::pair<const ValidationSet*, int>, DomainLoads> loads_;
};

}  // namespace

std::shared_ptr<const Model> open_moe_model(ModelSource source) {
  if (!source.checkpoint) throw file_error(source.path, "not a SoupLab checkpoint");
  return std::make_shared<SparseMoeModel>(std::move(source));
}

}  // namespace souplab
