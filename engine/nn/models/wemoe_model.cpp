// WEMoE: full experts merged by task arithmetic outside the MLPs, and MLPs whose weights a
// router trained on the target mixes per sequence. One model for every h.
#include "souplab/specialist.h"
#include "engine/nn/models/posthoc_model.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

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
    runner_ = std::make_shared<detail::AdaptedRunner>(std::move(theta), c, std::move(wemoe));
  }
};

}  // namespace

std::shared_ptr<const Model> open_wemoe_model(ModelSource source) {
  return std::make_shared<WemoeModel>(source);
}

}  // namespace souplab
