// An exported specialist opened as a model with one fixed dense theta, so the explorer and
// compare can line it up against a bank (a dense baseline, or another method's specialist).
#include <optional>

#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/instantiate_cast.h"
#include "engine/nn/models/openers.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

class ExportedModel final : public Model {
 public:
  ExportedModel(const LoadedSpecialist& s, const ModelSource& source) {
    const int64_t P = int64_t(s.theta.size());
    auto theta = torch::from_blob(const_cast<float*>(s.theta.data()), {P}, torch::kFloat32)
                     .clone()
                     .to(source.torch_device);
    // A lower inference precision gets its own copy of theta; export and merging keep float32.
    if (source.precision != torch::kFloat32)
      low_ = std::make_shared<detail::DenseRunner>(theta.to(source.precision), s.config);
    runner_ = std::make_shared<detail::DenseRunner>(std::move(theta), s.config);
    facts_.path = source.path;
    facts_.kind = ModelKind::kSpecialist;
    facts_.config.model = s.config;
    facts_.config.bank.n_experts = 0;
    facts_.counts = param_counts(s.config, facts_.config.bank, 0);
    facts_.device = source.torch_device.str();
    facts_.precision = precision_name(source.precision);
    facts_.verified = s.verified;
    auto meta = [&](const char* key) {
      auto it = s.metadata.find(key);
      return it == s.metadata.end() ? std::string() : it->second;
    };
    // Domain names and weights, when the exporter recorded them, let the explorer line the
    // specialist's losses up with a bank's domains.
    std::vector<double> h;
    try {
      if (!meta("domain_names").empty())
        facts_.domains = nlohmann::json::parse(meta("domain_names")).get<std::vector<std::string>>();
      if (!meta("domain_weights").empty()) {
        // The exporter writes {"name": weight}; a plain list is accepted too.
        const auto w = nlohmann::json::parse(meta("domain_weights"));
        if (w.is_object() && !w.empty())  // a merged model records no weights: {}
          for (const auto& n : facts_.domains) h.push_back(w.at(n).get<double>());
        else if (w.is_array())
          h = w.get<std::vector<double>>();
      }
      if (h.size() == facts_.domains.size() && !h.empty()) facts_.training_mixture = DomainWeights(h, facts_.domains);
    } catch (const std::exception&) {  // unreadable or inconsistent records: a bare specialist
      facts_.domains.clear();
      facts_.training_mixture = DomainWeights();
    }
    // A merge records its recipe; a recipe that does not parse leaves a plain specialist.
    try {
      if (!meta("merge").empty()) {
        const auto j = nlohmann::json::parse(meta("merge"));
        merge_ = merge_mixing_role(j.at("method").get<std::string>(), j.at("models").get<std::vector<std::string>>(),
                                   j.at("weights").get<std::vector<double>>(), j.value("base", std::string()),
                                   j.value("lambda", 1.0));
      }
    } catch (const std::exception&) {
      merge_.reset();
    }
    facts_.run_name = meta("run_name");
    if (!meta("step").empty()) facts_.step = std::atoll(meta("step").c_str());
  }

  const ModelFacts& facts() const override { return facts_; }
  ModelCapabilities capabilities() const override { return {false, !facts_.domains.empty(), true, false}; }

  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const override {
    if (!low_) return instantiate_dense(h);
    resolve(h);
    return std::make_shared<Specialist>(low_, facts_.training_mixture, 0.0);
  }

  MixingRole mixing_role(const DomainWeights& h, const ValidationSet* windows, int max_windows) const override {
    if (!merge_) return Model::mixing_role(h, windows, max_windows);
    resolve(h);
    return *merge_;
  }

  // One model for every h: h is checked against the recorded domains, and the specialist
  // reports the weights it was exported for.
  std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights& h) const override {
    resolve(h);
    return std::make_shared<DenseSpecialist>(runner_, facts_.training_mixture, 0.0);
  }

 private:
  ModelFacts facts_;
  std::shared_ptr<const detail::DenseRunner> runner_;
  std::shared_ptr<const detail::DenseRunner> low_;  // the bf16/fp16 copy instantiate() runs, if asked
  std::optional<MixingRole> merge_;                 // a merge's recipe, as its metadata records it
};

}  // namespace

std::shared_ptr<const Model> open_exported_model(ModelSource source) {
  return std::make_shared<ExportedModel>(load_specialist_safetensors(source.path), source);
}

}  // namespace souplab
