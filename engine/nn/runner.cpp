#include "engine/nn/runner.h"

#include "engine/nn/moe.h"
#include "engine/nn/validation.h"

namespace souplab::detail {
namespace {

constexpr int kEvalBatch = 8;  // windows per forward when evaluating

ParamLayout checked_layout(const torch::Tensor& theta, const ModelConfig& config) {
  ParamLayout layout = gpt_param_layout(config);
  TORCH_CHECK(theta.numel() == layout.total, "specialist: theta has ", theta.numel(),
              " values, the config needs ", layout.total);
  return layout;
}

}  // namespace

DenseRunner::DenseRunner(torch::Tensor theta, const ModelConfig& config)
    : theta_(std::move(theta)), config_(config), layout_(checked_layout(theta_, config_)) {}

torch::Tensor DenseRunner::forward(const torch::Tensor& idx, KVCache* cache) const {
  return cache ? gpt_forward_cached(theta_, config_, layout_, idx, *cache)
               : gpt_forward(theta_, config_, layout_, idx);
}

std::unique_ptr<CpuDecoder> DenseRunner::cpu_decoder(int rows, bool f16_weights) const {
  if (!CpuDecoder::applies(theta_)) return nullptr;
  return std::make_unique<CpuDecoder>(theta_, config_, layout_, rows, f16_weights);
}

torch::Tensor DenseRunner::window_losses(const torch::Tensor& windows) const {
  return souplab::window_losses(theta_, config_, layout_, windows, kEvalBatch);
}

MoeRunner::MoeRunner(std::shared_ptr<const MoeModel> moe) : moe_(std::move(moe)) {}

const ModelConfig& MoeRunner::config() const { return moe_->model_config(); }

torch::Device MoeRunner::device() const { return moe_->device(); }

torch::Tensor MoeRunner::forward(const torch::Tensor& idx, KVCache* cache) const {
  return moe_->forward(idx, moe_->moe_config().capacity_factor_eval, nullptr, cache);
}

torch::Tensor MoeRunner::window_losses(const torch::Tensor& windows) const {
  // One window per evaluation: the MoE's capacity (and so which tokens are dropped) depends on
  // the tokens routed together, so a window's loss is the one it has evaluated alone.
  const int64_t W = windows.size(0);
  auto out = torch::empty({W}, torch::kFloat64);
  auto* o = out.data_ptr<double>();
  for (int64_t i = 0; i < W; ++i) o[i] = window_loss(windows.narrow(0, i, 1));
  return out;
}

double MoeRunner::window_loss(const torch::Tensor& windows) const {
  return moe_->evaluate({{"", windows}}, 0, nullptr).loss_uniform.at(0);
}

AdaptedRunner::AdaptedRunner(torch::Tensor theta, const ModelConfig& config,
                             std::shared_ptr<const GptAdapter> adapter)
    : theta_(std::move(theta)), config_(config), layout_(checked_layout(theta_, config_)),
      adapter_(std::move(adapter)) {}

torch::Tensor AdaptedRunner::forward(const torch::Tensor& idx, KVCache* cache) const {
  return cache ? gpt_forward_cached(theta_, config_, layout_, idx, *cache, adapter_.get())
               : gpt_forward(theta_, config_, layout_, idx, adapter_.get());
}

torch::Tensor AdaptedRunner::window_losses(const torch::Tensor& windows) const {
  return souplab::window_losses(theta_, config_, layout_, windows, kEvalBatch, adapter_.get());
}

}  // namespace souplab::detail
