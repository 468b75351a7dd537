#pragma once
// The one way an export folder is written and recorded in the run log, for every producer: a
// specialist of a bank or a dense model (Model::export_specialist), a merge, a fine-tune.
// Order: refuse an existing folder before anything; create the producer's own run when it has
// one, so that the model card names it; write the folder; then record the export and close that
// run ("failed" if the folder could not be written, "finished" otherwise). The folder is never
// lost to the run log: a log that cannot be opened or written becomes a note.
// Torch-free: theta is plain floats.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "souplab/export.h"
#include "souplab/metrics.h"
#include "souplab/run_log.h"
#include "engine/export/specialist_export.h"

namespace souplab {

// Which run the export belongs to.
struct ExportRunRecord {
  int64_t run_id = 0;               // > 0: an existing run (a bank or a dense model's training run)
  std::optional<RunInfo> new_run;   // otherwise, when set: a run of its own, created first
  std::vector<Metric> new_run_metrics;  // logged in that new run
  int64_t step = 0;                 // the step recorded with the export
};

// The card's per-domain validation losses as the options ask: the known ones, else `evaluate`
// (called with options.windows) when options.with_losses, else none. An evaluation that fails
// (e.g. the corpus is gone) becomes a note and the export goes on without losses.
std::vector<double> export_card_losses(const ModelExportOptions& options,
                                       const std::function<std::vector<double>(int windows)>& evaluate,
                                       std::vector<std::string>* notes, const ModelExportProgress& progress);

// Writes `out_dir` from theta (layout of `config`) with `card` and records it as `record` says,
// in options.run_log_path. card.run_id is filled in for a new run. Throws Error naming the folder
// when it cannot be written (an existing one without options.overwrite: before anything else).
ModelExportResult write_logged_export(const ModelConfig& config, const float* theta, SpecialistCard card,
                                      const std::string& out_dir, const ModelExportOptions& options,
                                      const ExportRunRecord& record, std::vector<std::string>* notes,
                                      const ModelExportProgress& progress);

}  // namespace souplab
