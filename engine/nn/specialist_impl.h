#pragma once
// The concrete Specialist: an instantiated dense model, i.e. a flat theta on a device.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "engine/nn/bank.h"
#include "engine/nn/gpt.h"

namespace souplab {

class SpecialistImpl final : public Specialist {
 public:
  // adapter: post-hoc experts run on top of theta (null for a plain dense model); such a model
  // is not one dense theta, so parameters() throws Error("... not a dense model").
  SpecialistImpl(torch::Tensor theta, const ModelConfig& config, std::vector<double> h, double ms,
                 std::shared_ptr<const GptAdapter> adapter = nullptr);
  const std::vector<double>& domain_weights() const override { return h_; }
  double instantiate_ms() const override { return ms_; }
  const ModelConfig& model_config() const override { return config_; }
  std::vector<float> parameters() const override;
  std::vector<float> logits(const std::vector<int64_t>& tokens, int batch, int T) const override;

  const torch::Tensor& theta() const { return theta_; }
  const ParamLayout& layout() const { return layout_; }
  const GptAdapter* adapter() const { return adapter_.get(); }

 private:
  torch::Tensor theta_;  // (P), immutable once made
  ModelConfig config_;
  ParamLayout layout_;
  std::vector<double> h_;
  double ms_;
  std::shared_ptr<const GptAdapter> adapter_;
};

// Opens an exported specialist (folder or model.safetensors) as a dense "bank" whose
// instantiate() returns the model itself.
std::shared_ptr<const Bank> load_exported_specialist(const std::string& path, const torch::Device& device);

}  // namespace souplab
