// An exported specialist opened as a "bank" with one fixed model, so the explorer can compare
// against it (a dense baseline or another method's specialist) through the same interface.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/core/domain_weights.h"
#include "engine/core/error.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/specialist_impl.h"

namespace souplab {
namespace {

class ExportedBank final : public Bank {
 public:
  ExportedBank(LoadedSpecialist s, const std::string& path, const torch::Device& device) {
    const int64_t P = int64_t(s.theta.size());
    theta_ = torch::from_blob(s.theta.data(), {P}, torch::kFloat32).clone().to(device);
    facts_.path = path;
    facts_.kind = "specialist";
    facts_.config.model = s.config;
    facts_.config.bank.n_experts = 0;
    facts_.counts = param_counts(s.config, facts_.config.bank, 0);
    facts_.device = device.str();
    auto meta = [&](const char* key) {
      auto it = s.metadata.find(key);
      return it == s.metadata.end() ? std::string() : it->second;
    };
    // Domain names and weights, when the exporter recorded them, let the explorer line the
    // specialist's losses up with a bank's domains.
    try {
      if (!meta("domain_names").empty())
        facts_.domains = nlohmann::json::parse(meta("domain_names")).get<std::vector<std::string>>();
      if (!meta("domain_weights").empty()) {
        // The exporter writes {"name": weight}; a plain list is accepted too.
        const auto w = nlohmann::json::parse(meta("domain_weights"));
        if (w.is_object() && !w.empty())  // a merged model records no weights: {}
          for (const auto& n : facts_.domains) h_.push_back(w.at(n).get<double>());
        else if (w.is_array())
          h_ = w.get<std::vector<double>>();
      }
    } catch (const std::exception&) {
      facts_.domains.clear();
      h_.clear();
    }
    if (h_.size() != facts_.domains.size()) h_.clear();
    facts_.training_mixture = h_;
    facts_.run_name = meta("run_name");
    if (!meta("step").empty()) facts_.step = std::atoll(meta("step").c_str());
  }

  const BankFacts& facts() const override { return facts_; }

  std::shared_ptr<const Specialist> instantiate(const std::vector<double>& h) const override {
    if (!facts_.domains.empty()) normalize_domain_weights(h, facts_.domains.size());  // validates
    return std::make_shared<SpecialistImpl>(theta_, facts_.config.model, h_, 0.0);
  }

 private:
  torch::Tensor theta_;
  BankFacts facts_;
  std::vector<double> h_;
};

}  // namespace

std::shared_ptr<const Bank> load_exported_specialist(const std::string& path, const torch::Device& device) {
  return std::make_shared<ExportedBank>(load_specialist_safetensors(path), path, device);
}

}  // namespace souplab
