// A soup or dense checkpoint opened for exploration: theta(h) = S + alpha(h)^T E, or S alone.
#include <chrono>

#include "souplab/error.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "engine/nn/fit_weights.h"
#include "engine/nn/instantiate_cast.h"
#include "engine/nn/models/openers.h"
#include "engine/nn/runner.h"
#include "engine/nn/soup.h"

namespace souplab {
namespace {

class BankModel final : public Model {
 public:
  BankModel(ModelSource source) : facts_(checkpoint_facts(source)) {
    const TrainState& s = source.checkpoint->meta.state;
    BankConfig bank = s.config.bank;
    if (facts_.kind == ModelKind::kDense) bank.n_experts = 0;
    bank_ = std::make_unique<SoupBank>(s.config.model, bank, int(s.domains.size()), source.torch_device);
    load_parameters(*source.checkpoint, *bank_);
    precision_ = source.precision;
    facts_.precision = precision_name(precision_);
  }

  const ModelFacts& facts() const override { return facts_; }

  ModelCapabilities capabilities() const override {
    const bool soup = bank_->n_experts() > 0;
    return {soup, !facts_.domains.empty(), true, soup};
  }

  // In the inference precision asked at load: a bf16/fp16 theta summed in float32 and written
  // once (SoupBank::inference_theta), run as a plain Specialist so that nothing exports it.
  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h_in) const override {
    if (precision_ == torch::kFloat32) return instantiate_dense(h_in);
    const DomainWeights h = resolve(h_in);
    double ms = 0;
    torch::Tensor theta = timed(&ms, [&] { return bank_->inference_theta(bank_->h_tensor(h.values()), precision_); });
    return std::make_shared<Specialist>(std::make_shared<detail::DenseRunner>(theta, facts_.config.model), h, ms);
  }

  std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights& h_in) const override {
    const DomainWeights h = resolve(h_in);
    torch::NoGradGuard no_grad;
    double ms = 0;
    torch::Tensor theta = timed(&ms, [&] { return bank_->theta(bank_->h_tensor(h.values())); });
    // detach: a dense bank's theta is its own S, which must stay read-only here.
    auto runner = std::make_shared<detail::DenseRunner>(theta.detach(), facts_.config.model);
    return std::make_shared<DenseSpecialist>(std::move(runner), h, ms);
  }

  // make()'s theta and its wall time in *ms (a CUDA theta is waited for: kernels run asynchronously).
  template <class Make>
  static torch::Tensor timed(double* ms, const Make& make) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor theta = make();
    if (theta.is_cuda()) torch::cuda::synchronize();
    *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return theta;
  }

  FitResult fit_weights(const std::string& target, const FitOptions& options) const override {
    if (bank_->n_experts() == 0)
      throw file_error(facts_.path, "a dense model has no domain weights to fit (the bank has no experts)");
    return fit_weights_through(*bank_, facts_.domains, target, options);
  }

 private:
  ModelFacts facts_;
  std::unique_ptr<SoupBank> bank_;
  torch::ScalarType precision_ = torch::kFloat32;
};

}  // namespace

std::shared_ptr<const Model> open_bank_model(ModelSource source) {
  if (!source.checkpoint) throw file_error(source.path, "not a SoupLab checkpoint");
  return std::make_shared<BankModel>(std::move(source));
}

}  // namespace souplab
