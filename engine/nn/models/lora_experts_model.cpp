// A folder of post-hoc LoRA experts (one per domain, on a frozen base): h picks the expert of
// its largest weight, run as the base with that expert's adapters.
#include "souplab/specialist.h"
#include "engine/nn/models/posthoc_model.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

// A single LoRA expert whose adapter owns its tensors.
struct OwnedLora final : GptAdapter {
  explicit OwnedLora(LoraExpert e) : expert(std::move(e)), mix({&expert}, {1.0}) {}
  torch::Tensor linear(int l, LinearSite s, const torch::Tensor& x, const torch::Tensor& y) const override {
    return mix.linear(l, s, x, y);
  }
  LoraExpert expert;
  LoraMixAdapter mix;
};

class LoraExpertsModel final : public PosthocModel {
 public:
  explicit LoraExpertsModel(const ModelSource& source) : PosthocModel(source) {
    const auto loras = load_lora_experts(dir_ + "/" + manifest<std::string>("tensors"), experts_.size(),
                                         facts_.config.model, theta0_.device());
    for (const auto& e : loras)
      runners_.push_back(std::make_shared<detail::AdaptedRunner>(theta0_, facts_.config.model,
                                                                 std::make_shared<OwnedLora>(e)));
  }

  ModelCapabilities capabilities() const override { return {true, !facts_.domains.empty(), false, false}; }

  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h_in) const override {
    const DomainWeights h = resolve(h_in);
    return std::make_shared<Specialist>(runners_[main_expert(h)], h, 0.0);
  }

 private:
  std::vector<std::shared_ptr<const detail::AdaptedRunner>> runners_;  // one per expert
};

}  // namespace

std::shared_ptr<const Model> open_lora_experts_model(ModelSource source) {
  return std::make_shared<LoraExpertsModel>(source);
}

}  // namespace souplab
