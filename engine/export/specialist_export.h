#pragma once
// Export of one specialist (theta instantiated for domain weights h) as a folder that other
// tools load without SoupLab: model.safetensors + config.json in GPT-2 naming, model.onnx,
// and a README.md model card. The folder appears complete or not at all: it is built in a
// temporary sibling folder and renamed into place at the end.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/export.h"  // ExportFormat, ExportResult, ExportProgress
#include "souplab/param_layout.h"
#include "engine/core/safetensors.h"

namespace souplab {

// What the model card says about where the specialist came from.
struct SpecialistCard {
  std::string run_id;                     // run log id of the source run
  std::string run_name;                   // its display name
  ModelKind run_kind = ModelKind::kSoup;  // what it came from: a soup at h, a dense run, a merge...
  int64_t step = 0;                       // optimiser step of the source checkpoint
  std::string source_checkpoint;          // path of that checkpoint
  std::vector<std::string> domain_names;  // k domains, in the order of h
  std::vector<double> h;                  // domain weights the specialist was instantiated for
  std::vector<double> val_losses;         // per-domain validation loss (nats/byte); empty = unknown
  std::string notes;                      // optional free text for the card
};

// Writes the export folder `out_dir`. Files: kSafetensors -> model.safetensors, config.json,
// README.md; kOnnx -> model.onnx, config.json, README.md; kAll -> all four.
// An existing `out_dir` is an Error naming it (left untouched) unless `overwrite`; then the
// old folder is renamed aside, the new one renamed in, and the old one deleted.
// Throws Error naming the file or folder on any failure; no temporary folder survives it.
ExportResult export_specialist(const ModelConfig& config, const ParamLayout& layout, const float* theta,
                               const SpecialistCard& card, const std::string& out_dir,
                               ExportFormat formats = ExportFormat::kAll, bool overwrite = false,
                               const ExportProgress& progress = {});

struct LoadedSpecialist {
  ModelConfig config;
  std::vector<float> theta;      // in gpt_param_layout(config) order
  SafetensorsMetadata metadata;  // the file's __metadata__
  std::string source;            // the safetensors path read
  bool verified = false;         // the file's checksums were present and matched
};

// Reads an export folder (or a model.safetensors file directly). The config comes from
// config.json beside the file, else from the tensor shapes plus n_head in the metadata.
// Every tensor of the layout must be present as F32 with the right shape, and no other tensor
// may be present: otherwise an Error names the file and the tensor.
LoadedSpecialist load_specialist_safetensors(const std::string& dir_or_file);

}  // namespace souplab
