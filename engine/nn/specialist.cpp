// Specialist and DenseSpecialist: the public face of a runner (engine/nn/runner.h).
#include "souplab/specialist.h"

#include <algorithm>

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
  auto out = runner_->forward(idx, nullptr).to(torch::kCPU, torch::kFloat32).contiguous();  // bf16/fp16 runs too
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

namespace {

void check_fits(const ValidationSet& data, const ModelConfig& c) {
  if (data.block_size() > c.block_size)
    throw Error("validation windows of " + std::to_string(data.block_size()) +
                " tokens exceed the model's context of " + std::to_string(c.block_size));
}

}  // namespace

std::vector<double> Specialist::evaluate(const ValidationSet& data, const std::function<bool()>& cancelled) const {
  check_fits(data, model_config());
  std::vector<double> out;
  for (const auto& w : data.windows().domains) {
    if (cancelled && cancelled()) return {};
    out.push_back(runner_->window_loss(w.tokens));
  }
  return out;
}

std::vector<double> Specialist::window_losses(const ValidationSet& data, size_t domain, int first, int count) const {
  check_fits(data, model_config());
  const auto& all = data.windows().domains;
  if (domain >= all.size())
    throw Error("domain index " + std::to_string(domain) + " out of range (" + std::to_string(all.size()) + " domains)");
  const int64_t n = all[domain].tokens.size(0);
  const int64_t begin = std::clamp<int64_t>(first, 0, n), end = std::clamp<int64_t>(int64_t(first) + count, begin, n);
  if (begin == end) return {};
  auto losses = runner_->window_losses(all[domain].tokens.narrow(0, begin, end - begin)).contiguous();
  return std::vector<double>(losses.data_ptr<double>(), losses.data_ptr<double>() + losses.numel());
}

DenseSpecialist::DenseSpecialist(std::shared_ptr<const detail::DenseRunner> runner, DomainWeights h,
                                 double instantiate_ms)
    : Specialist(runner, std::move(h), instantiate_ms), dense_(std::move(runner)) {}

std::vector<float> DenseSpecialist::parameters() const {
  auto host = dense_->theta().detach().to(torch::kCPU).contiguous();
  return std::vector<float>(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
}

}  // namespace souplab
