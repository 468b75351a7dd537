#pragma once
// Exporting a specialist (torch-free header): a folder other tools load without SoupLab,
// model.safetensors + config.json in GPT-2 naming, model.onnx, model-<type>.gguf for llama.cpp,
// a byte-level tokenizer, generation_config.json and a README.md model card. Front
// ends export through Model::export_specialist (souplab/model.h); this header holds its options
// and results.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "souplab/domain_weights.h"

namespace souplab {

// kAll: safetensors, ONNX and GGUF f16. The GGUF ones write model-f32.gguf, model-f16.gguf or
// model-q8_0.gguf (llama.cpp's types; q8_0 needs a width that is a multiple of 32).
enum class ExportFormat { kSafetensors, kOnnx, kGgufF32, kGgufF16, kGgufQ8_0, kAll };

// "safetensors" | "onnx" | "gguf-f32" | "gguf-f16" | "gguf-q8_0" | "all"
const char* export_format_name(ExportFormat f);
// The names above, and "gguf" for gguf-f16; false if unknown.
bool parse_export_format(const std::string& name, ExportFormat* out);
// Every format, in the order front ends list them.
std::vector<ExportFormat> export_formats();
// How many files an export in format `f` writes (progress displays count them in advance).
int export_file_count(ExportFormat f);

// Called with a file name each time a file of the export is complete (progress display).
// An exception thrown from it aborts the export like any failure: nothing is left behind.
using ExportProgress = std::function<void(const std::string& file_name)>;

struct ExportResult {
  std::string dir;                 // the final folder
  std::vector<std::string> files;  // file names inside it, in writing order
  int64_t n_params = 0;
};

struct ModelExportOptions {
  ExportFormat format = ExportFormat::kAll;
  bool overwrite = false;          // replace an existing out_dir
  bool with_losses = true;         // per-domain validation losses in the card and the log
  int windows = 16;                // validation windows per domain for those losses
  // Losses already measured (one per domain of the model), written as they are instead of
  // evaluating again: a merge shows them before it is exported.
  std::vector<double> known_losses;
  std::string run_log_path;        // empty = default_run_log_path()
};

struct ModelExportResult : ExportResult {
  DomainWeights h;                 // the weights instantiated (normalised)
  std::vector<double> val_losses;  // empty when not asked for or the corpus is unavailable
  int64_t export_id = 0;           // run log row id; 0 when not logged
  int64_t run_id = 0;              // the run the export made (a merge's run); 0 otherwise
};

// Stages for a progress display: "instantiating", "evaluating", "writing <file>" (once a file is
// complete), "logging".
using ModelExportProgress = std::function<void(const std::string& stage)>;

}  // namespace souplab
