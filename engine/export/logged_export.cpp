// write_logged_export: see logged_export.h.
#include "engine/export/logged_export.h"

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "souplab/error.h"

namespace souplab {

namespace {

void add_note(std::vector<std::string>* notes, const std::string& text) {
  if (notes) notes->push_back(text);
}

}  // namespace

std::vector<double> export_card_losses(const ModelExportOptions& options,
                                       const std::function<std::vector<double>(int windows)>& evaluate,
                                       std::vector<std::string>* notes, const ModelExportProgress& progress) {
  if (!options.known_losses.empty()) return options.known_losses;
  if (!options.with_losses || !evaluate) return {};
  if (progress) progress("evaluating");
  try {
    return evaluate(options.windows);
  } catch (const std::exception& e) {  // e.g. the corpus is gone: export without losses
    add_note(notes, std::string("no validation losses in the card: ") + e.what());
    return {};
  }
}

ModelExportResult write_logged_export(const ModelConfig& config, const float* theta, SpecialistCard card,
                                      const std::string& out_dir, const ModelExportOptions& options,
                                      const ExportRunRecord& record, std::vector<std::string>* notes,
                                      const ModelExportProgress& progress) {
  // Before a run row exists, so a mistyped folder leaves no failed run behind.
  std::error_code ec;
  if (!options.overwrite && std::filesystem::exists(out_dir, ec))
    throw file_error(out_dir, "already exists; choose another folder or allow overwriting");

  std::unique_ptr<RunLog> log;
  int64_t run_id = record.run_id;
  bool own_run = false;
  try {
    if (run_id > 0 || record.new_run) log = std::make_unique<RunLog>(options.run_log_path);
    if (run_id > 0) {
      log->get_run(run_id);  // an Error naming the id when this log does not know the run
    } else if (record.new_run) {
      run_id = log->create_run(*record.new_run);
      own_run = true;
      card.run_id = std::to_string(run_id);
      if (!record.new_run_metrics.empty()) log->log_metrics(run_id, record.new_run_metrics);
    }
  } catch (const std::exception& e) {  // not only Error: the folder is still worth writing
    add_note(notes, std::string("not logged in the run log: ") + e.what());
    log.reset();
  }
  const auto close_run = [&](const char* status) {
    if (own_run && log) log->set_run_status(run_id, status, iso8601_utc_now());
  };

  ModelExportResult result;
  result.val_losses = card.val_losses;
  try {
    static_cast<ExportResult&>(result) =
        export_specialist(config, gpt_param_layout(config), theta, card, out_dir, options.format, options.overwrite,
                          [&](const std::string& file) {
                            if (progress) progress("writing " + file);
                          });
  } catch (...) {
    try {
      close_run("failed");
    } catch (const std::exception&) {  // the write's own error is the one to report
    }
    throw;
  }
  if (!log) return result;
  if (progress) progress("logging");
  try {
    ExportRecord rec;
    rec.run_id = run_id;
    rec.step = record.step;
    rec.domain_weights_json = card.h.empty() ? "{}" : nlohmann::json(card.h).dump();
    rec.path = result.dir;
    rec.format = export_format_name(options.format);
    nlohmann::json losses = nlohmann::json::object();
    for (size_t i = 0; i < card.val_losses.size() && i < card.domain_names.size(); ++i)
      losses[card.domain_names[i]] = card.val_losses[i];
    rec.losses_json = losses.dump();
    result.export_id = log->log_export(rec);
    close_run("finished");
    if (own_run) result.run_id = run_id;
  } catch (const std::exception& e) {  // the folder is written: keep it
    add_note(notes, std::string("export not logged in the run log: ") + e.what());
  }
  return result;
}

}  // namespace souplab
