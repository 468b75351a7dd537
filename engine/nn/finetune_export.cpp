// finetune_and_export: the fine-tune command's engine side (souplab/finetune.h), so front ends
// hand over a model, h and a target and get a logged export back.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "souplab/finetune.h"
#include "souplab/model.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "engine/export/logged_export.h"

namespace souplab {

FinetuneExportResult finetune_and_export(const Model& model, const DomainWeights& h, const std::string& target,
                                         const FinetuneOptions& options, const std::string& out_dir,
                                         const ModelExportOptions& eo, std::vector<std::string>* notes) {
  std::error_code ec;  // checked again when writing; here so that a taken folder costs no training
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
  // A fine-tune is a run of its own, child of the source's run when the log knows it.
  ExportRunRecord record;
  record.new_run.emplace();
  record.new_run->name = card.run_name;
  record.new_run->kind = "finetune";
  record.new_run->config_json = detail.dump();
  if (f.run_id > 0) {
    try {
      if (RunLog(eo.run_log_path).get_run(f.run_id).id == f.run_id) record.new_run->parent_run_id = f.run_id;
    } catch (const Error&) {  // the source's run is in another log (or none): no parent
    }
  }
  record.new_run_metrics = {{t.steps, "target", "", "loss_before", t.loss_before, 0},
                            {t.steps, "target", "", "loss", t.loss_after, 0}};
  record.step = t.steps;
  ModelExportOptions no_losses = eo;  // the card states the target's losses instead
  no_losses.with_losses = false;
  const ModelExportResult written = write_logged_export(t.model, t.theta.data(), card, out_dir, no_losses, record,
                                                        notes, ModelExportProgress());
  r.exported = written;
  r.run_id = written.run_id;
  return r;
}

}  // namespace souplab
