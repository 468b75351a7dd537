// PHATGOOSE (and its prototype / Arrow / merged baselines): per-token top-k routing among LoRA
// experts on a frozen base. One model for every h.
#include "souplab/inspect.h"
#include "souplab/posthoc.h"
#include "souplab/specialist.h"
#include "engine/nn/models/posthoc_model.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

// The model's adapter, adding each token's routing weights at every adapted linear layer.
struct TallyingRoutedLora final : GptAdapter {
  TallyingRoutedLora(std::shared_ptr<const RoutedLoraAdapter> inner, RoutingTally* tally)
      : inner(std::move(inner)), tally(tally) {}
  torch::Tensor linear(int layer, LinearSite site, const torch::Tensor& x, const torch::Tensor& y) const override {
    tally->add(layer, inner->routing_weights(size_t(layer) * kLinearSites + size_t(site), x));
    return inner->linear(layer, site, x, y);
  }
  std::shared_ptr<const RoutedLoraAdapter> inner;
  RoutingTally* tally;
};

class PhatgooseModel final : public RoutedPosthocModel {
 public:
  explicit PhatgooseModel(const ModelSource& source) : RoutedPosthocModel(source) {
    const ModelConfig& c = facts_.config.model;
    const std::string file = dir_ + "/" + manifest<std::string>("tensors");
    const auto t = load_tensor_map(file, theta0_.device());
    std::vector<LoraExpert> loras;
    for (size_t i = 0; i < experts_.size(); ++i)
      loras.push_back(lora_from_tensors(t, c, "expert." + std::to_string(i) + ".", file));
    Router router;
    if (!parse_router(manifest<std::string>("router"), &router))
      throw file_error(dir_ + "/manifest.json", "unknown \"router\" " + manifest_.at("router").dump());
    std::vector<torch::Tensor> vectors;  // none: the merged baseline averages the experts
    if (router != Router::kMerged)
      for (int l = 0; l < c.n_layer; ++l)
        for (int s = 0; s < kLinearSites; ++s) {
          auto it = t.find("route." + module_name(l, LinearSite(s)));
          if (it == t.end()) throw file_error(file, "missing routing vectors " + module_name(l, LinearSite(s)));
          vectors.push_back(it->second);
        }
    top_k_ = manifest_.value("top_k", 2);
    merged_ = router == Router::kMerged;
    adapter_ = std::make_shared<RoutedLoraAdapter>(std::move(loras), vectors, top_k_, router == Router::kArrow);
    runner_ = std::make_shared<detail::AdaptedRunner>(theta0_, c, adapter_);
  }

 protected:
  std::shared_ptr<const GptAdapter> tallying_adapter(RoutingTally* tally) const override {
    return std::make_shared<TallyingRoutedLora>(adapter_, tally);
  }
  MixingRole describe_routing() const override {
    MixingRole r;
    r.role = "routing weight";
    r.formula = merged_ ? "every linear layer: W x + mean over the experts of B_i A_i x (their plain average)"
                        : "every linear layer, per token x: W x + sum over its top-" + std::to_string(top_k_) +
                              " experts of g_i(x) B_i A_i x; theta_0 is the same for every h";
    r.note = "Mean weight g_i each expert gets per token (over the block's linear layers), on the domains' "
             "validation windows weighted by h (routing is per token: h only reweights the text).";
    return r;
  }

 private:
  std::shared_ptr<const RoutedLoraAdapter> adapter_;
  int top_k_ = 2;
  bool merged_ = false;
};

}  // namespace

std::shared_ptr<const Model> open_phatgoose_model(ModelSource source) {
  return std::make_shared<PhatgooseModel>(source);
}

}  // namespace souplab
