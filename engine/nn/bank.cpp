// Bank, Specialist and ValidationSet: the explorer's view of a trained bank.
#include "engine/nn/bank.h"

#include <algorithm>

#include <chrono>
#include <filesystem>

#include "engine/core/domain_weights.h"
#include "engine/core/error.h"
#include "engine/nn/checkpoint.h"
#include "engine/nn/device.h"
#include "engine/nn/gpt.h"
#include "engine/nn/moe.h"
#include "engine/nn/posthoc_api.h"
#include "engine/nn/soup.h"
#include "engine/nn/specialist_impl.h"
#include "engine/nn/validation.h"

namespace souplab {
namespace {

class CheckpointBank final : public Bank {
 public:
  CheckpointBank(const std::string& path, const torch::Device& device) {
    LoadedCheckpoint ck = load_checkpoint(path, device, false);
    const TrainState& s = ck.state;
    if (s.config.train.kind == "moe") {
      moe_.reset(static_cast<MoeModel*>(ck.bank.release()));
    } else {
      bank_.reset(static_cast<SoupBank*>(ck.bank.release()));
    }
    facts_.path = path;
    facts_.kind = moe_ ? "moe" : s.config.bank.n_experts > 0 ? "soup" : "dense";
    facts_.run_id = s.run_id;
    facts_.run_name = s.run_name;
    facts_.step = s.step;
    facts_.domains = s.domains;
    facts_.config = s.config;
    facts_.counts = param_counts(s.config, int(s.domains.size()));
    facts_.device = device.str();
    facts_.corpus_dir = s.config.train.corpus_dir;
    facts_.cache_dir = s.config.train.cache_dir;
    const size_t k = s.domains.size();
    // The soup's training mixture is the mean of pi, which is uniform for every pi offered.
    facts_.training_mixture = (facts_.kind != "soup" && !s.config.train.mixture.empty())
                                  ? normalize_domain_weights(s.config.train.mixture, k)
                                  : uniform_domain_weights(k);
  }

  const BankFacts& facts() const override { return facts_; }

  std::shared_ptr<const Specialist> instantiate(const std::vector<double>& h_in) const override {
    const std::vector<double> h = normalize_domain_weights(h_in, facts_.domains.size());
    torch::NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    if (moe_)  // one model for every h: h is validated above and otherwise ignored
      return std::make_shared<SpecialistImpl>(moe_->theta().detach(),
                                              facts_.config.model, h, 0.0, moe_);
    torch::Tensor theta = bank_->theta(bank_->h_tensor(h));
    if (bank_->n_experts() == 0) theta = theta.detach();  // the bank's own S: read-only use
    if (theta.is_cuda()) torch::cuda::synchronize();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return std::make_shared<SpecialistImpl>(theta.detach(), facts_.config.model, h, ms);
  }

 private:
  std::unique_ptr<SoupBank> bank_;        // soup and dense
  std::shared_ptr<const MoeModel> moe_;  // moe (shared with its specialists)
  BankFacts facts_;
};

class CorpusValidationSet final : public ValidationSet {
 public:
  CorpusValidationSet(std::vector<DomainWindows> windows, int block_size)
      : windows_(std::move(windows)), block_size_(block_size) {
    for (const auto& w : windows_) names_.push_back(w.name);
  }
  const std::vector<std::string>& domains() const override { return names_; }
  int block_size() const override { return block_size_; }
  const std::vector<DomainWindows>& windows() const { return windows_; }

 private:
  std::vector<DomainWindows> windows_;
  std::vector<std::string> names_;
  int block_size_;
};

}  // namespace

std::shared_ptr<const Bank> Bank::load(const std::string& path, const std::string& device) {
  const DeviceChoice dev = select_device(device);
  set_torch_threads(0);  // per thread under OpenMP: the thread that loads is the one that runs
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw file_error(path, "no such file");
  // A post-hoc system (LoRA/full experts, PHATGOOSE, WEMoE) is a folder with a manifest.json.
  if (std::filesystem::is_regular_file(std::filesystem::path(path) / "manifest.json", ec))
    return load_posthoc_bank(path, device);
  if (std::filesystem::is_directory(path, ec) || !is_checkpoint_file(path))
    return load_exported_specialist(path, torch::Device(dev.device));
  return std::make_shared<CheckpointBank>(path, torch::Device(dev.device));
}

std::shared_ptr<const ValidationSet> ValidationSet::from_corpus(const std::string& corpus_dir,
                                                                const std::string& cache_dir,
                                                                int block_size,
                                                                int windows_per_domain) {
  CorpusOptions opts;
  opts.cache_dir = cache_dir;
  opts.min_domain_tokens = uint64_t(block_size) + 1;
  auto cache = TokenCache::open(corpus_dir, opts);
  return std::make_shared<CorpusValidationSet>(
      load_validation_windows(*cache, block_size, windows_per_domain), block_size);
}

std::shared_ptr<const ValidationSet> ValidationSet::for_bank(const BankFacts& facts,
                                                             int windows_per_domain) {
  if (facts.corpus_dir.empty())
    throw Error(facts.path + ": no corpus is recorded for this model, so there is no validation data");
  auto set = from_corpus(facts.corpus_dir, facts.cache_dir, facts.config.model.block_size,
                         windows_per_domain);
  if (!facts.domains.empty() && set->domains() != facts.domains)
    throw Error(facts.corpus_dir + ": its domains no longer match those of " + facts.path);
  return set;
}

std::vector<double> evaluate_per_domain(const Specialist& model, const ValidationSet& data,
                                        const std::function<bool()>& cancelled) {
  const auto& impl = dynamic_cast<const SpecialistImpl&>(model);
  const auto& set = dynamic_cast<const CorpusValidationSet&>(data);
  if (set.block_size() > impl.model_config().block_size)
    throw Error("validation windows of " + std::to_string(set.block_size()) +
                " tokens exceed the model's context of " +
                std::to_string(impl.model_config().block_size));
  std::vector<double> out;
  for (const auto& w : set.windows()) {
    if (cancelled && cancelled()) return {};
    if (impl.moe())
      out.push_back(impl.moe()->evaluate({w}, 0, nullptr).loss_uniform.at(0));
    else
      out.push_back(mean_window_loss(impl.theta(), impl.model_config(), impl.layout(), w.tokens, 8,
                                     impl.adapter()));
  }
  return out;
}

WindowShape quick_window_shape(int k, int max_block, int max_windows, int token_budget) {
  k = std::max(1, k);
  const int block = std::max(1, std::min(max_block, std::max(16, token_budget / k)));
  const int windows = std::clamp(token_budget / (k * block), 1, std::max(1, max_windows));
  return {block, windows};
}

}  // namespace souplab
