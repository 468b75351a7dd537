#pragma once
// The concrete Specialist: an instantiated dense model, i.e. a flat theta on a device.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "engine/nn/bank.h"

namespace souplab {

class SpecialistImpl final : public Specialist {
 public:
  SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h, double ms);
  const std::vector<double>& domain_weights() const override { return h_; }
  double instantiate_ms() const override { return ms_; }
  const ModelConfig& model_config() const override { return config_; }
  std::vector<float> parameters() const override;
  std::vector<float> logits(const std::vector<int64_t>& tokens, int batch, int T) const override;

  const torch::Tensor& theta() const { return theta_; }
  const ParamLayout& layout() const { return layout_; }

 private:
  torch::Tensor theta_;  // (P), immutable once made
  ModelConfig config_;
  ParamLayout layout_;
  std::vector<double> h_;
  double ms_;
};

// Opens an exported specialist (folder or model.safetensors) as a dense "bank" whose
// instantiate() returns the model itself.
std::shared_ptr<const Bank> load_exported_specialist(const std::string& path, const torch::Device& device);

}  // namespace souplab
