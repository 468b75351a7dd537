#include "engine/nn/make_model.h"

#include "souplab/error.h"
#include "engine/nn/moe.h"
#include "engine/nn/soup.h"

namespace souplab {

std::unique_ptr<TrainableModel> make_model(const RunConfig& config, int n_domains,
                                           const torch::Device& device) {
  switch (config.train.kind) {
    case ModelKind::kMoe:
      return std::make_unique<MoeModel>(config.model, config.moe, n_domains, device);
    case ModelKind::kSoup:
      return std::make_unique<SoupBank>(config.model, config.bank, n_domains, device);
    case ModelKind::kDense: {
      BankConfig bank = config.bank;
      bank.n_experts = 0;
      return std::make_unique<SoupBank>(config.model, bank, n_domains, device);
    }
    default:
      break;
  }
  throw Error(std::string("a ") + model_kind_name(config.train.kind) + " model is not trained by SoupLab's trainer");
}

}  // namespace souplab
