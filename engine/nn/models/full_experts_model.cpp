// A folder of post-hoc full fine-tuned experts (exported specialists, one per domain): h picks
// the expert of its largest weight, an ordinary dense model.
#include "souplab/specialist.h"
#include "engine/nn/models/posthoc_model.h"
#include "engine/nn/posthoc.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

class FullExpertsModel final : public PosthocModel {
 public:
  explicit FullExpertsModel(const ModelSource& source) : PosthocModel(source) {
    for (auto& theta : load_full_experts(dir_, facts_.config.model, theta0_.device()))
      runners_.push_back(std::make_shared<detail::DenseRunner>(std::move(theta), facts_.config.model));
  }

  ModelCapabilities capabilities() const override { return {true, !facts_.domains.empty(), true, false}; }

  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const override {
    return instantiate_dense(h);
  }

  std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights& h_in) const override {
    const DomainWeights h = resolve(h_in);
    return std::make_shared<DenseSpecialist>(runners_[main_expert(h)], h, 0.0);
  }

 private:
  std::vector<std::shared_ptr<const detail::DenseRunner>> runners_;  // one per expert
};

}  // namespace

std::shared_ptr<const Model> open_full_experts_model(ModelSource source) {
  return std::make_shared<FullExpertsModel>(source);
}

}  // namespace souplab
