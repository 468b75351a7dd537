#include "engine/nn/trainable_model.h"

#include "engine/nn/moe.h"
#include "engine/nn/soup.h"

namespace souplab {

std::unique_ptr<TrainableModel> make_model(const RunConfig& config, int n_domains,
                                           const torch::Device& device) {
  if (config.train.kind == "moe")
    return std::make_unique<MoeModel>(config.model, config.moe, n_domains, device);
  BankConfig bank = config.bank;
  if (config.train.kind == "dense") bank.n_experts = 0;
  return std::make_unique<SoupBank>(config.model, bank, n_domains, device);
}

}  // namespace souplab
