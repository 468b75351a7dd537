#pragma once
// Fine-tuning a model on a target text (torch-free header): the paper's combination of the soup
// with fine-tuning — instantiate the specialist at h, then train it for K steps on the target —
// and the same for any dense model (a dense baseline, an exported specialist), so the two can be
// compared at the same K. The target's last `holdout` share is never trained on: the losses
// before and after are measured there.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/domain_weights.h"
#include "souplab/export.h"

namespace souplab {

class DenseSpecialist;  // Model::instantiate_dense
class Model;

struct FinetuneOptions {
  int64_t steps = 100;     // AdamW steps on windows of the target's training part
  double lr = 3e-4;        // peak; 10% linear warm-up, cosine to 0.1x
  int batch_size = 8;      // windows of the model's context per step
  double holdout = 0.2;    // share of the target (its end) kept for the before/after loss
  int eval_windows = 64;   // windows of the held-out part the losses are measured on
  double weight_decay = 0.0;
  uint64_t seed = 1234;
  std::string device = "auto";
  // After each step: (step, steps, training loss). Return false to stop; the result then
  // holds the model as trained so far (cancelled = true).
  std::function<bool(int64_t, int64_t, double)> progress;
};

struct FinetuneResult {
  ModelConfig model;
  std::vector<float> theta;          // the fine-tuned dense model, in param_layout order
  double loss_before = 0, loss_after = 0;  // mean loss (nats/byte) on the held-out target windows
  int64_t steps = 0;
  int eval_windows = 0;
  bool cancelled = false;
  double seconds = 0;
};

// `start` is one dense GPT-2 (Model::instantiate_dense of a soup at h, a dense run, an exported
// specialist). The target is a text file or a folder of text files; errors name it (missing, too short for a
// training window and a held-out window).
FinetuneResult finetune_on_text(const DenseSpecialist& start, const std::string& target, const FinetuneOptions& options);

struct FinetuneExportResult {
  FinetuneResult tuned;
  ExportResult exported;
  int64_t run_id = 0;  // the "finetune" run in the run log; 0 when it could not be logged
};

// The whole command: instantiates `model` at h as one dense GPT-2 (Error unless it can export),
// fine-tunes it on `target`, and writes the result as an export folder whose model card states
// the source, the target and the before/after losses. The fine-tune is logged as a run of kind
// "finetune", child of the source's run when the log knows it; a run log that cannot record it
// does not fail the command but adds a line to `notes`. `out_dir` is written atomically and left
// as it was on any error.
FinetuneExportResult finetune_and_export(const Model& model, const DomainWeights& h, const std::string& target,
                                         const FinetuneOptions& options, const std::string& out_dir,
                                         const ModelExportOptions& export_options,
                                         std::vector<std::string>* notes = nullptr);

}  // namespace souplab
