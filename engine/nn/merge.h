#pragma once
// Merges of trained models (torch-free header, for the CLI and the GUI's merge page): open the
// inputs (exported specialist folders, dense checkpoints, soup checkpoints instantiated at some
// h), merge them with one of the methods of engine/core/merge_math.h, evaluate the result, and
// export it exactly like a specialist (model.safetensors + config.json, model.onnx, README.md
// model card stating the method, inputs and weights), recorded in the run log.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/merge_math.h"
#include "engine/export/specialist_export.h"
#include "engine/nn/bank.h"

namespace souplab {

// One input, opened and instantiated: a dense model on the CPU.
struct MergeModel {
  std::string path;            // as given
  std::string label;           // path, plus "@h" for a soup instantiated at h
  BankFacts facts;             // of the source (kind, domains, corpus for validation)
  std::vector<double> h;       // the weights a soup was instantiated at (empty otherwise)
  std::vector<float> theta;    // gpt_param_layout(config) order
  const ModelConfig& config() const { return facts.config.model; }
};

// Opens `path` (checkpoint, export folder or model.safetensors). A soup is instantiated at
// `weights` (parse_domain_weights syntax; empty = uniform); other models ignore it.
// Errors name the file.
MergeModel load_merge_model(const std::string& path, const std::string& weights = "");

struct MergedModel {
  ModelConfig config;
  std::vector<float> theta;
  MergeParams params;
  std::vector<std::string> inputs;  // labels of the merged models
  std::vector<double> weights;      // as given (linear normalises them when merging)
  std::string base;                 // label of the base; empty for linear
};

// Checks the inputs and merges them. Every model and the base must share one ModelConfig (an
// Error names the file that differs); every method but linear needs `base` (Error otherwise);
// linear ignores it.
MergedModel merge_models(const std::vector<const MergeModel*>& models, const std::vector<double>& weights,
                         const MergeModel* base, const MergeParams& params);

// A model given as theta (e.g. the merged model, or an input) as a Specialist, for evaluation
// and generation. Copies theta.
std::shared_ptr<const Specialist> dense_specialist(const ModelConfig& config, const std::vector<float>& theta);
inline std::shared_ptr<const Specialist> merged_specialist(const MergedModel& merged) {
  return dense_specialist(merged.config, merged.theta);
}

// Validation windows for comparing merges: those of the first source (base first, then the
// models) whose corpus is recorded and still there. Throws Error saying why when none is.
std::shared_ptr<const ValidationSet> merge_validation_set(const std::vector<const MergeModel*>& sources,
                                                          int windows_per_domain);

// A line for the model card, the run log and the GUI: "ties (density 0.5, lambda 1) of a (1), b
// (0.5) on base c".
std::string describe_merge(const MergedModel& merged);

struct MergeExportOptions {
  ExportFormat format = ExportFormat::kAll;
  bool overwrite = false;
  std::string run_log_path;  // empty = default_run_log_path()
};

struct MergeExportResult : ExportResult {
  int64_t run_id = 0, export_id = 0;  // run log rows; 0 when not logged
};

// Writes the merged model like a specialist export. `domains` and `val_losses` (may be empty)
// go into the card. The merge is recorded in the run log as a finished run of kind "merge"
// (its config_json describes the merge) with one export row; a run log that cannot record it
// does not fail the export but adds a line to `notes`. Throws Error naming the folder when the
// folder cannot be written (out_dir then unchanged).
MergeExportResult export_merged_model(const MergedModel& merged, const std::string& out_dir,
                                      const MergeExportOptions& options,
                                      const std::vector<std::string>& domains = {},
                                      const std::vector<double>& val_losses = {},
                                      std::vector<std::string>* notes = nullptr,
                                      const ExportProgress& progress = {});

}  // namespace souplab
