#include "engine/nn/export_bank_specialist.h"

#include <exception>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/core/param_layout.h"
#include "engine/core/paths.h"
#include "engine/core/run_log.h"
#include "engine/nn/bank.h"

namespace souplab {

BankExportResult export_bank_specialist(const Bank& bank, const std::vector<double>& h,
                                        const std::string& out_dir, const BankExportOptions& options,
                                        std::vector<std::string>* notes,
                                        const BankExportProgress& progress) {
  const auto report = [&](const std::string& stage) {
    if (progress) progress(stage);
  };
  const auto note = [&](const std::string& text) {
    if (notes) notes->push_back(text);
  };
  const BankFacts& f = bank.facts();
  if (f.kind == "moe")
    throw Error(f.path + ": a mixture-of-experts model cannot be exported as a dense GPT-2 "
                "specialist (all its experts ship together and routing is per token)");
  report("instantiating");
  // instantiate() validates and normalises h; what the card and the log record is its copy, so
  // they describe exactly the specialist written.
  auto spec = bank.instantiate(h);
  BankExportResult result;
  result.h = spec->domain_weights();

  SpecialistCard card;
  card.run_id = std::to_string(f.run_id);
  card.run_name = f.run_name;
  card.run_kind = f.kind;
  card.step = f.step;
  card.source_checkpoint = f.path;
  card.domain_names = f.domains;
  card.h = result.h;
  if (options.with_losses) {
    report("evaluating");
    try {
      card.val_losses = evaluate_per_domain(*spec, *ValidationSet::for_bank(f, options.windows));
    } catch (const std::exception& e) {  // e.g. the corpus is gone: export without losses
      note(std::string("no validation losses in the card: ") + e.what());
    }
  }
  result.val_losses = card.val_losses;

  const auto theta = spec->parameters();
  const ParamLayout layout = gpt_param_layout(spec->model_config());
  static_cast<ExportResult&>(result) =
      export_specialist(spec->model_config(), layout, theta.data(), card, out_dir, options.format,
                        options.overwrite, [&](const std::string& file) { report("writing " + file); });

  if (f.run_id > 0) {
    report("logging");
    try {
      RunLog log(options.run_log_path.empty() ? default_run_log_path() : options.run_log_path);
      log.get_run(f.run_id);  // an Error naming the id when this log does not know the run
      ExportRecord rec;
      rec.run_id = f.run_id;
      rec.step = f.step;
      rec.domain_weights_json = nlohmann::json(result.h).dump();
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
