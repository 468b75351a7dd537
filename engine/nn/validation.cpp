#include "engine/nn/validation.h"

#include "souplab/error.h"
#include "engine/core/sampler.h"
#include "engine/nn/gpt.h"

namespace souplab {

std::vector<DomainWindows> load_validation_windows(const TokenCache& cache, int block_size,
                                                   int windows_per_domain) {
  std::vector<DomainWindows> out;
  for (size_t d = 0; d < cache.num_domains(); ++d) {
    std::vector<uint8_t> bytes;
    const size_t n = validation_windows(cache, d, block_size, windows_per_domain, &bytes);
    if (n == 0)
      throw file_error(cache.corpus_dir() + "/" + cache.domains()[d].name,
                       "validation split is shorter than one context window (" +
                           std::to_string(block_size + 1) + " bytes)");
    auto t = torch::from_blob(bytes.data(), {int64_t(n), int64_t(block_size) + 1}, torch::kUInt8)
                 .to(torch::kInt64);  // copies, so `bytes` may go
    out.push_back({cache.domains()[d].name, t});
  }
  return out;
}

torch::Tensor window_losses(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout,
                            const torch::Tensor& windows, int batch_size, const GptAdapter* adapter) {
  torch::NoGradGuard no_grad;
  const int64_t W = windows.size(0), T = windows.size(1) - 1;
  std::vector<torch::Tensor> sums;  // per batch, on theta's device: one sync at the end
  for (int64_t i = 0; i < W; i += batch_size) {
    auto chunk = windows.narrow(0, i, std::min<int64_t>(batch_size, W - i)).to(theta.device());
    auto x = chunk.narrow(1, 0, T), y = chunk.narrow(1, 1, T);
    // A bf16/fp16 specialist's logits: the loss is taken in float32 (its softmax sums 256 terms).
    auto logits = gpt_forward(theta, c, layout, x, adapter).to(torch::kFloat32);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), y.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    sums.push_back(loss.view({-1, T}).to(torch::kFloat64).sum(1));
  }
  if (sums.empty()) return torch::zeros({0}, torch::kFloat64);
  return (torch::cat(sums) / double(T)).to(torch::kCPU);
}

double mean_window_loss(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout,
                        const torch::Tensor& windows, int batch_size, const GptAdapter* adapter) {
  // Every window has T targets, so the mean of the windows' means is the mean over all bytes.
  return window_losses(theta, c, layout, windows, batch_size, adapter).mean().item<double>();
}

}  // namespace souplab
