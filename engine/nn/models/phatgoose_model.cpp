// PHATGOOSE (and its prototype / Arrow / merged baselines): per-token top-k routing among LoRA
// experts on a frozen base. One model for every h.
#include "souplab/posthoc.h"
#include "souplab/specialist.h"
#include "engine/nn/models/posthoc_model.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

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
    auto adapter = std::make_shared<RoutedLoraAdapter>(std::move(loras), vectors, manifest_.value("top_k", 2),
                                                       router == Router::kArrow);
    runner_ = std::make_shared<detail::AdaptedRunner>(theta0_, c, std::move(adapter));
  }
};

}  // namespace

std::shared_ptr<const Model> open_phatgoose_model(ModelSource source) {
  return std::make_shared<PhatgooseModel>(source);
}

}  // namespace souplab
