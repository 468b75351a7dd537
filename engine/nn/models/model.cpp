// What every Model shares: weights over its domains, and the operations a kind offers only when
// its capabilities say so (the defaults below refuse with the reason).
#include "souplab/model.h"

#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "souplab/validation_set.h"
#include "engine/export/specialist_export.h"

namespace souplab {

DomainWeights Model::weights(const std::vector<double>& h) const { return DomainWeights(h, facts().domains); }

DomainWeights Model::parse_weights(const std::string& text) const { return DomainWeights::parse(text, facts().domains); }

DomainWeights Model::reference_weights() const {
  return facts().domains.empty() ? DomainWeights() : DomainWeights::uniform(facts().domains);
}

DomainWeights Model::resolve(const DomainWeights& h) const {
  if (h.empty()) return reference_weights();
  if (h.names() != facts().domains)
    throw Error(facts().path + ": domain weights over " + std::to_string(h.size()) +
                " domains (" + h.format() + ") do not match this model's " +
                std::to_string(facts().domains.size()) + " domains");
  return h;
}

std::shared_ptr<const DenseSpecialist> Model::instantiate_dense(const DomainWeights&) const {
  throw Error(facts().path + ": a " + model_kind_name(kind()) +
              " model is not one dense GPT-2, so it cannot be exported or merged as one");
}

FitResult Model::fit_weights(const std::string&, const FitOptions&) const {
  throw Error(facts().path + ": a " + model_kind_name(kind()) +
              " model has no domain weights to fit (fitting h needs a soup bank with experts)");
}

ModelExportResult Model::export_specialist(const DomainWeights& h_in, const std::string& out_dir,
                                           const ModelExportOptions& options,
                                           std::vector<std::string>* notes,
                                           const ModelExportProgress& progress) const {
  const auto report = [&](const std::string& stage) {
    if (progress) progress(stage);
  };
  const auto note = [&](const std::string& text) {
    if (notes) notes->push_back(text);
  };
  const ModelFacts& f = facts();
  // A kind that is not one dense GPT-2 refuses here, with its reason, before any progress.
  if (!capabilities().can_export) instantiate_dense(h_in);
  report("instantiating");
  // What the card and the log record is the specialist's own h, so they describe exactly the
  // model written.
  const auto spec = instantiate_dense(h_in);
  ModelExportResult result;
  result.h = spec->domain_weights();

  SpecialistCard card;
  card.run_id = std::to_string(f.run_id);
  card.run_name = f.run_name;
  card.run_kind = f.kind;
  card.step = f.step;
  card.source_checkpoint = f.path;
  card.domain_names = f.domains;
  card.h = result.h.values();
  if (!options.known_losses.empty()) {
    card.val_losses = options.known_losses;
  } else if (options.with_losses) {
    report("evaluating");
    try {
      card.val_losses = spec->evaluate(*ValidationSet::for_model(f, options.windows));
    } catch (const std::exception& e) {  // e.g. the corpus is gone: export without losses
      note(std::string("no validation losses in the card: ") + e.what());
    }
  }
  result.val_losses = card.val_losses;

  const auto theta = spec->parameters();
  const ParamLayout layout = gpt_param_layout(spec->model_config());
  static_cast<ExportResult&>(result) =
      souplab::export_specialist(spec->model_config(), layout, theta.data(), card, out_dir, options.format,
                                 options.overwrite, [&](const std::string& file) { report("writing " + file); });

  if (f.run_id > 0) {
    report("logging");
    try {
      RunLog log(options.run_log_path.empty() ? default_run_log_path() : options.run_log_path);
      log.get_run(f.run_id);  // an Error naming the id when this log does not know the run
      ExportRecord rec;
      rec.run_id = f.run_id;
      rec.step = f.step;
      rec.domain_weights_json = nlohmann::json(result.h.values()).dump();
      rec.path = result.dir;
      rec.format = export_format_name(options.format);
      nlohmann::json losses = nlohmann::json::object();
      for (size_t i = 0; i < card.val_losses.size() && i < f.domains.size(); ++i)
        losses[f.domains[i]] = card.val_losses[i];
      rec.losses_json = losses.dump();
      result.export_id = log.log_export(rec);
    } catch (const std::exception& e) {  // not only Error: the folder is written, keep it
      note(std::string("export not logged in the run log: ") + e.what());
    }
  }
  return result;
}

}  // namespace souplab
