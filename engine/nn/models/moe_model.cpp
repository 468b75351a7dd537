// A sparse MoE checkpoint opened for exploration: one model for every h, routed per token.
#include "souplab/error.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "engine/nn/models/openers.h"
#include "engine/nn/moe.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

class SparseMoeModel final : public Model {
 public:
  SparseMoeModel(ModelSource source) : facts_(checkpoint_facts(source)) {
    const TrainState& s = source.checkpoint->meta.state;
    auto moe = std::make_shared<MoeModel>(s.config.model, s.config.moe, int(s.domains.size()),
                                          source.torch_device);
    load_parameters(*source.checkpoint, *moe);
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

 private:
  ModelFacts facts_;
  std::shared_ptr<const detail::MoeRunner> runner_;
};

}  // namespace

std::shared_ptr<const Model> open_moe_model(ModelSource source) {
  if (!source.checkpoint) throw file_error(source.path, "not a SoupLab checkpoint");
  return std::make_shared<SparseMoeModel>(std::move(source));
}

}  // namespace souplab
