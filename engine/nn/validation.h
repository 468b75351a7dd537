#pragma once
// Per-domain validation windows as tensors, and the mean loss of a parameter vector on them.
// Shared by the trainer's periodic evaluation and the explorer's ValidationSet.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/corpus.h"
#include "souplab/param_layout.h"
#include "engine/nn/gpt.h"

namespace souplab {

struct DomainWindows {
  std::string name;
  torch::Tensor tokens;  // (W, T + 1) int64, on the CPU
};

namespace detail {
// What a souplab::ValidationSet holds.
struct ValidationWindows {
  std::vector<DomainWindows> domains;
  std::vector<std::string> names;
  int block_size = 0;
};
}  // namespace detail

std::vector<DomainWindows> load_validation_windows(const TokenCache& cache, int block_size,
                                                   int windows_per_domain);

// Each window's mean next-token loss (W, float64, on the CPU) of theta on windows (W, T + 1), in
// batches; no autograd. The explorer pairs them with a reference's on the same windows.
torch::Tensor window_losses(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout,
                            const torch::Tensor& windows, int batch_size = 8,
                            const GptAdapter* adapter = nullptr);

// Mean next-token loss of theta on windows (W, T + 1), in batches; no autograd.
double mean_window_loss(const torch::Tensor& theta, const ModelConfig& c, const ParamLayout& layout,
                        const torch::Tensor& windows, int batch_size = 8,
                        const GptAdapter* adapter = nullptr);

}  // namespace souplab
