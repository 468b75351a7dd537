#pragma once
// Export of one specialist (theta instantiated for domain weights h) as a folder that other
// tools load without SoupLab: model.safetensors + config.json in GPT-2 naming, model.onnx, a
// byte-level tokenizer (tokenizer.json, tokenizer_config.json), generation_config.json and a
// README.md model card. The folder appears complete or not at all: it is built in a
// temporary sibling folder and renamed into place at the end.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/export.h"  // ExportFormat, ExportResult, ExportProgress
#include "souplab/param_layout.h"
#include "engine/core/safetensors.h"
#include "engine/export/specialist_import.h"  // the way back in

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
  // A merge's recipe as JSON ({"method", "lambda", "base", "models", "weights", ...}), kept in the
  // safetensors metadata as "merge" so that the merged folder, opened again, shows what it is
  // made of (Model::mixing_role); empty for everything but merges.
  std::string merge_json;
  // The model card's YAML front matter (what the Hugging Face Hub reads):
  // the weights' licence, a Hub licence id or SPDX id such as "apache-2.0"; empty = "other".
  // SoupLab (the software) is GPL-3.0-or-later, but the weights are the user's, trained on the
  // user's data: their licence is the user's to state, so none is assumed.
  std::string license;
  // What the model was made from, as the exporter names them (paths or Hub ids), and how:
  // "finetune" (one base) or "merge" (the merged models and the merge's base). Written as
  // base_model / base_model_relation; empty for a specialist instantiated from a bank.
  std::vector<std::string> base_models;
  std::string base_model_relation;
};

// Writes the export folder `out_dir`. Files: kSafetensors -> model.safetensors; kOnnx ->
// model.onnx; kAll -> both; and with every format config.json, tokenizer.json,
// tokenizer_config.json, generation_config.json (engine/export/byte_tokenizer.h) and README.md.
// An existing `out_dir` is an Error naming it (left untouched) unless `overwrite`; then the
// old folder is renamed aside, the new one renamed in, and the old one deleted.
// Throws Error naming the file or folder on any failure; no temporary folder survives it.
ExportResult export_specialist(const ModelConfig& config, const ParamLayout& layout, const float* theta,
                               const SpecialistCard& card, const std::string& out_dir,
                               ExportFormat formats = ExportFormat::kAll, bool overwrite = false,
                               const ExportProgress& progress = {});

}  // namespace souplab
