// finetune_and_export: the fine-tune command's engine side (souplab/finetune.h), so front ends
// hand over a model, h and a target and get a logged export back.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "souplab/finetune.h"
#include "souplab/model.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/gpt.h"

namespace souplab {

FinetuneExportResult finetune_and_export(const Model& model, const DomainWeights& h, const std::string& target,
                                         const FinetuneOptions& options, const std::string& out_dir,
                                         const ModelExportOptions& eo, std::vector<std::string>* notes) {
  std::error_code ec;
  if (!eo.overwrite && std::filesystem::exists(out_dir, ec))
    throw file_error(out_dir, "already exists; choose another folder or pass --overwrite");
  const ModelFacts& f = model.facts();
  const auto start = model.instantiate_dense(h);  // Error unless the model is one dense GPT-2 at h
  FinetuneExportResult r;
  r.tuned = finetune_on_text(*start, target, options);
  const FinetuneResult& t = r.tuned;
  const std::string what = model.capabilities().can_instantiate
                               ? "the specialist at " + start->domain_weights().format()
                               : std::string(model_kind_name(f.kind)) + " model";
  SpecialistCard card;
  card.run_kind = f.kind;
  card.run_name = "fine-tuned on " + std::filesystem::path(target).filename().string();
  card.step = f.step;
  card.source_checkpoint = f.path;
  card.domain_names = f.domains;
  card.h = start->domain_weights().values();
  card.notes = "## Fine-tuning\n\n- source: `" + f.path + "` (" + what + ")\n- target: `" + target +
               "` (its last " + std::to_string(int(options.holdout * 100 + 0.5)) + "% held out)\n- " +
               std::to_string(t.steps) + " steps, lr " + std::to_string(options.lr) + ", batch " +
               std::to_string(options.batch_size) + "\n- held-out target loss (nats/byte): " +
               std::to_string(t.loss_before) + " before, " + std::to_string(t.loss_after) + " after\n";
  const nlohmann::json detail{{"source", f.path}, {"weights", card.h}, {"target", target}, {"steps", t.steps},
                              {"lr", options.lr}, {"batch", options.batch_size}, {"holdout", options.holdout},
                              {"loss_before", t.loss_before}, {"loss_after", t.loss_after}, {"out", out_dir}};
  try {  // a fine-tune is a run of its own, child of the source's run when the log knows it
    RunLog log(eo.run_log_path.empty() ? default_run_log_path() : eo.run_log_path);
    RunInfo info;
    info.name = card.run_name;
    info.kind = "finetune";
    info.config_json = detail.dump();
    try {
      if (f.run_id > 0 && log.get_run(f.run_id).id == f.run_id) info.parent_run_id = f.run_id;
    } catch (const Error&) {  // the source's run is in another log: no parent
    }
    r.run_id = log.create_run(info);
    card.run_id = std::to_string(r.run_id);
    log.log_metrics(r.run_id, {{t.steps, "target", "", "loss_before", t.loss_before, 0},
                               {t.steps, "target", "", "loss", t.loss_after, 0}});
    log.set_run_status(r.run_id, "finished", iso8601_utc_now());
  } catch (const Error& e) {
    if (notes) notes->push_back(std::string("not logged in the run log: ") + e.what());
  }
  const ParamLayout layout = gpt_param_layout(t.model);
  r.exported = export_specialist(t.model, layout, t.theta.data(), card, out_dir, eo.format, eo.overwrite);
  return r;
}

}  // namespace souplab
