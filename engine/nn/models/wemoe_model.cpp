// WEMoE: full experts merged by task arithmetic outside the MLPs, and MLPs whose weights a
// router trained on the target mixes per sequence. One model for every h.
#include <cstdio>

#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "engine/nn/models/posthoc_model.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

// The model's adapter, adding each token's router coefficients r at every MLP.
struct TallyingWemoe final : GptAdapter {
  TallyingWemoe(std::shared_ptr<const WemoeAdapter> inner, RoutingTally* tally) : inner(std::move(inner)), tally(tally) {}
  torch::Tensor mlp(int layer, const torch::Tensor& m, const GptWeights::Block& b, int64_t past,
                    torch::Tensor* state) const override {
    torch::Tensor copy = state ? *state : torch::Tensor();  // routing() advances its state: a copy's
    tally->add(layer, inner->routing(layer, m, past, state ? &copy : nullptr));
    return inner->mlp(layer, m, b, past, state);
  }
  std::shared_ptr<const WemoeAdapter> inner;
  RoutingTally* tally;
};

class WemoeModel final : public RoutedPosthocModel {
 public:
  explicit WemoeModel(const ModelSource& source) : RoutedPosthocModel(source) {
    const ModelConfig& c = facts_.config.model;
    const auto experts = load_full_experts(manifest_path("experts_dir"), c, theta0_.device());
    const double lambda = manifest<double>("lambda");
    auto wemoe = std::make_shared<WemoeAdapter>(
        WemoeAdapter::make_layers(theta0_, experts, c, manifest_.value("router_hidden", 0), 0), lambda);
    const std::string file = dir_ + "/" + manifest<std::string>("tensors");
    const auto t = load_tensor_map(file, theta0_.device());
    for (auto& [name, tensor] : wemoe->router_tensors()) {
      auto it = t.find(name);
      if (it == t.end() || it->second.sizes() != tensor.sizes())
        throw file_error(file, "missing or misshapen router tensor " + name);
      tensor.copy_(it->second);
    }
    torch::Tensor theta = task_arithmetic(theta0_, experts, lambda);
    adapter_ = wemoe;
    runner_theta_ = theta;
    runner_ = std::make_shared<detail::AdaptedRunner>(std::move(theta), c, std::move(wemoe));
  }

 protected:
  std::shared_ptr<const GptAdapter> tallying_adapter(RoutingTally* tally) const override {
    return std::make_shared<TallyingWemoe>(adapter_, tally);
  }
  MixingRole describe_routing() const override {
    MixingRole r;
    r.role = "merge coefficient";
    char lambda[32];
    std::snprintf(lambda, sizeof lambda, "%.2f", adapter_->lambda());
    r.formula = std::string("outside the MLPs theta_0 + ") + lambda +
                " sum_i tau_i; each MLP, per token: theta_0 + sum_i r_i tau_i with r from the mean of its prefix";
    r.note = "Mean coefficient r_i of each expert's task vector per token and block (the router's), on the "
             "domains' validation windows weighted by h; task arithmetic alone would be " + std::string(lambda) + ".";
    return r;
  }

 private:
  std::shared_ptr<const WemoeAdapter> adapter_;
};

}  // namespace

std::shared_ptr<const Model> open_wemoe_model(ModelSource source) {
  return std::make_shared<WemoeModel>(source);
}

}  // namespace souplab
