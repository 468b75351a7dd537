#pragma once
// The concrete Specialist: an instantiated dense model, i.e. a flat theta on a device; or a
// whole MoE (one model for every h), which runs its own forward over the same theta.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "engine/nn/bank.h"
#include "engine/nn/gpt.h"

namespace souplab {

class MoeModel;

class SpecialistImpl final : public Specialist {
 public:
  // A plain dense model, a MoE (theta holds its non-MLP weights; moe runs the experts), or
  // post-hoc experts run on top of theta by `adapter`. Neither of the last two is one dense
  // theta, so their parameters() throw Error.
  SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h, double ms);
  SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h, double ms,
                 std::shared_ptr<const MoeModel> moe);
  SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h, double ms,
                 std::shared_ptr<const GptAdapter> adapter);
  const std::vector<double>& domain_weights() const override { return h_; }
  double instantiate_ms() const override { return ms_; }
  const ModelConfig& model_config() const override { return config_; }
  std::vector<float> parameters() const override;
  std::vector<float> logits(const std::vector<int64_t>& tokens, int batch, int T) const override;

  const torch::Tensor& theta() const { return theta_; }
  // Non-null for a MoE: then theta alone is not the model (forward() runs the experts too).
  const std::shared_ptr<const MoeModel>& moe() const { return moe_; }
  // Logits (B, T, V) for idx (B, T), incrementally with a cache (no autograd by the caller).
  torch::Tensor forward(const torch::Tensor& idx, KVCache* cache = nullptr) const;
  const ParamLayout& layout() const { return layout_; }
  const GptAdapter* adapter() const { return adapter_.get(); }

 private:
  torch::Tensor theta_;  // (P), immutable once made
  ModelConfig config_;
  ParamLayout layout_;
  std::vector<double> h_;
  double ms_;
  std::shared_ptr<const MoeModel> moe_;
  std::shared_ptr<const GptAdapter> adapter_;
};

// Opens an exported specialist (folder or model.safetensors) as a dense "bank" whose
// instantiate() returns the model itself.
std::shared_ptr<const Bank> load_exported_specialist(const std::string& path, const torch::Device& device);

}  // namespace souplab
