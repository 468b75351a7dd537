// Specialist and DenseSpecialist: the public face of a runner (engine/nn/runner.h).
#include "souplab/specialist.h"

#include "souplab/error.h"
#include "souplab/validation_set.h"
#include "engine/nn/runner.h"
#include "engine/nn/validation.h"

namespace souplab {

Specialist::Specialist(std::shared_ptr<const detail::Runner> runner, DomainWeights h, double instantiate_ms)
    : runner_(std::move(runner)), h_(std::move(h)), ms_(instantiate_ms) {}

Specialist::~Specialist() = default;

const ModelConfig& Specialist::model_config() const { return runner_->config(); }

std::vector<float> Specialist::logits(const std::vector<int64_t>& tokens, int batch, int T) const {
  const ModelConfig& c = model_config();
  if (batch <= 0 || T <= 0 || tokens.size() != size_t(batch) * size_t(T))
    throw Error("logits: expected batch * T = " + std::to_string(int64_t(batch) * T) +
                " tokens, got " + std::to_string(tokens.size()));
  if (T > c.block_size)
    throw Error("logits: " + std::to_string(T) + " tokens exceed the context of " +
                std::to_string(c.block_size));
  for (int64_t t : tokens)
    if (t < 0 || t >= c.vocab_size) throw Error("logits: token " + std::to_string(t) + " out of range");
  torch::NoGradGuard no_grad;
  auto idx = torch::tensor(tokens, torch::kInt64).view({batch, T}).to(runner_->device());
  auto out = runner_->forward(idx, nullptr).to(torch::kCPU).contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::vector<double> Specialist::evaluate(const ValidationSet& data, const std::function<bool()>& cancelled) const {
  if (data.block_size() > model_config().block_size)
    throw Error("validation windows of " + std::to_string(data.block_size()) +
                " tokens exceed the model's context of " + std::to_string(model_config().block_size));
  std::vector<double> out;
  for (const auto& w : data.windows().domains) {
    if (cancelled && cancelled()) return {};
    out.push_back(runner_->window_loss(w.tokens));
  }
  return out;
}

DenseSpecialist::DenseSpecialist(std::shared_ptr<const detail::DenseRunner> runner, DomainWeights h,
                                 double instantiate_ms)
    : Specialist(runner, std::move(h), instantiate_ms), dense_(std::move(runner)) {}

std::vector<float> DenseSpecialist::parameters() const {
  auto host = dense_->theta().detach().to(torch::kCPU).contiguous();
  return std::vector<float>(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
}

}  // namespace souplab
