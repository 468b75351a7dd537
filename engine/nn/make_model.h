#pragma once
// The trainable model of a run's kind, for the trainer and the checkpoint loader.
#include <torch/torch.h>

#include <memory>

#include "souplab/config.h"
#include "engine/nn/trainable_model.h"

namespace souplab {

// A fresh (zero) model of the run's kind: SoupBank for soup and dense (n = 0), MoeModel for moe.
std::unique_ptr<TrainableModel> make_model(const RunConfig& config, int n_domains,
                                           const torch::Device& device);

}  // namespace souplab
