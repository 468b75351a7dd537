#pragma once
// The engine's side of a Specialist (souplab/specialist.h): how each kind of runnable model
// computes logits and losses. One class per way of running, none with a mode that throws:
//   DenseRunner    one dense GPT-2: a flat theta (a soup at h, a dense or exported model, ...)
//   MoeRunner      the sparse MoE, whose experts are not one theta
//   AdaptedRunner  a base theta with post-hoc experts hooked into its forward (LoRA, routing)
#include <torch/torch.h>

#include <memory>

#include "souplab/config.h"
#include "souplab/param_layout.h"
#include "engine/nn/cpu_decoder.h"
#include "engine/nn/gpt.h"

namespace souplab {

class MoeModel;

namespace detail {

class Runner {
 public:
  virtual ~Runner() = default;
  virtual const ModelConfig& config() const = 0;
  virtual torch::Device device() const = 0;
  // Logits (B, T, V) for idx (B, T); with `cache`, incrementally (gpt_forward_cached). The
  // caller holds a NoGradGuard.
  virtual torch::Tensor forward(const torch::Tensor& idx, KVCache* cache = nullptr) const = 0;
  // Each window's mean next-token loss (nats/byte) on windows (W, T + 1): (W) float64 on the
  // CPU, no autograd.
  virtual torch::Tensor window_losses(const torch::Tensor& windows) const = 0;
  // Mean next-token loss over all the windows: the mean of window_losses, except for a model
  // whose windows are not independent (the MoE's capacity depends on the tokens routed together).
  virtual double window_loss(const torch::Tensor& windows) const { return window_losses(windows).mean().item<double>(); }
  // A plain-loop decoder of `rows` sequences for generation (engine/nn/cpu_decoder.h; with the
  // weights in half when f16_weights), or null
  // where forward() with a KV cache is the way (other devices and precisions, other models).
  virtual std::unique_ptr<CpuDecoder> cpu_decoder(int rows, bool f16_weights) const {
    (void)rows, (void)f16_weights;
    return nullptr;
  }
};

class DenseRunner final : public Runner {
 public:
  // theta (P) is kept as given (no copy): it must not change while the runner lives.
  DenseRunner(torch::Tensor theta, const ModelConfig& config);
  const ModelConfig& config() const override { return config_; }
  torch::Device device() const override { return theta_.device(); }
  torch::Tensor forward(const torch::Tensor& idx, KVCache* cache) const override;
  torch::Tensor window_losses(const torch::Tensor& windows) const override;
  std::unique_ptr<CpuDecoder> cpu_decoder(int rows, bool f16_weights) const override;
  const torch::Tensor& theta() const { return theta_; }
  const ParamLayout& layout() const { return layout_; }

 private:
  torch::Tensor theta_;  // (P), immutable once made
  ModelConfig config_;
  ParamLayout layout_;
};

class MoeRunner final : public Runner {
 public:
  explicit MoeRunner(std::shared_ptr<const MoeModel> moe);
  const ModelConfig& config() const override;
  torch::Device device() const override;
  torch::Tensor forward(const torch::Tensor& idx, KVCache* cache) const override;
  torch::Tensor window_losses(const torch::Tensor& windows) const override;
  double window_loss(const torch::Tensor& windows) const override;

 private:
  std::shared_ptr<const MoeModel> moe_;
};

class AdaptedRunner final : public Runner {
 public:
  AdaptedRunner(torch::Tensor theta, const ModelConfig& config, std::shared_ptr<const GptAdapter> adapter);
  const ModelConfig& config() const override { return config_; }
  torch::Device device() const override { return theta_.device(); }
  torch::Tensor forward(const torch::Tensor& idx, KVCache* cache) const override;
  torch::Tensor window_losses(const torch::Tensor& windows) const override;

 private:
  torch::Tensor theta_;
  ModelConfig config_;
  ParamLayout layout_;
  std::shared_ptr<const GptAdapter> adapter_;
};

}  // namespace detail
}  // namespace souplab
