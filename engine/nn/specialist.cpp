#include <cstring>

#include "engine/core/error.h"
#include "engine/nn/gpt.h"
#include "engine/nn/moe.h"
#include "engine/nn/specialist_impl.h"

namespace souplab {

SpecialistImpl::SpecialistImpl(torch::Tensor theta, const ModelConfig& config,
                               std::vector<double> h, double ms)
    : theta_(std::move(theta)), config_(config), layout_(gpt_param_layout(config)),
      h_(std::move(h)), ms_(ms) {
  TORCH_CHECK(theta_.numel() == layout_.total, "specialist: theta has ", theta_.numel(),
              " values, the config needs ", layout_.total);
}

SpecialistImpl::SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h,
                               double ms, std::shared_ptr<const MoeModel> moe)
    : SpecialistImpl(std::move(theta), config, std::move(h), ms) {
  moe_ = std::move(moe);
}

SpecialistImpl::SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h,
                               double ms, std::shared_ptr<const GptAdapter> adapter)
    : SpecialistImpl(std::move(theta), config, std::move(h), ms) {
  adapter_ = std::move(adapter);
}

std::vector<float> SpecialistImpl::parameters() const {
  if (moe_)
    throw Error("a mixture-of-experts model is not one dense GPT-2: its experts cannot be written "
                "as a dense specialist's parameters");
  if (adapter_)
    throw Error("this model routes among post-hoc experts at run time: not a dense model, so it "
                "has no single parameter vector");
  auto host = theta_.detach().to(torch::kCPU).contiguous();
  return std::vector<float>(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
}

std::vector<float> SpecialistImpl::logits(const std::vector<int64_t>& tokens, int batch, int T) const {
  if (batch <= 0 || T <= 0 || tokens.size() != size_t(batch) * size_t(T))
    throw Error("logits: expected batch * T = " + std::to_string(int64_t(batch) * T) +
                " tokens, got " + std::to_string(tokens.size()));
  if (T > config_.block_size)
    throw Error("logits: " + std::to_string(T) + " tokens exceed the context of " +
                std::to_string(config_.block_size));
  for (int64_t t : tokens)
    if (t < 0 || t >= config_.vocab_size) throw Error("logits: token " + std::to_string(t) + " out of range");
  torch::NoGradGuard no_grad;
  auto idx = torch::tensor(tokens, torch::kInt64).view({batch, T}).to(theta_.device());
  auto out = forward(idx).to(torch::kCPU).contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

torch::Tensor SpecialistImpl::forward(const torch::Tensor& idx, KVCache* cache) const {
  if (moe_) return moe_->forward(idx, moe_->moe_config().capacity_factor_eval, nullptr, cache);
  return cache ? gpt_forward_cached(theta_, config_, layout_, idx, *cache, adapter_.get())
               : gpt_forward(theta_, config_, layout_, idx, adapter_.get());
}

}  // namespace souplab
