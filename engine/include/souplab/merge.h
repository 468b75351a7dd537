#pragma once
// Merges of trained models (torch-free header, for the CLI and the GUI's merge page): open the
// inputs (exported specialist folders, dense checkpoints, soup checkpoints instantiated at some
// h), merge them with one of the methods of souplab/merge_math.h into a MergedModel, a Model of
// kind merge that evaluates and exports like any dense model (model.safetensors + config.json,
// model.onnx, README.md model card stating the method, inputs and weights), recorded in the run
// log as a run of kind "merge".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "souplab/merge_math.h"
#include "souplab/model.h"

namespace souplab {

class ValidationSet;

// One input, opened and instantiated: a dense model on the CPU.
struct MergeModel {
  std::string path;            // as given
  std::string label;           // path, plus "@h" for a soup instantiated at h
  ModelFacts facts;            // of the source (kind, domains, corpus for validation)
  DomainWeights h;             // the weights a soup was instantiated at (empty otherwise)
  std::vector<float> theta;    // gpt_param_layout(config) order
  std::shared_ptr<const DenseSpecialist> specialist;  // the input as a model, for its own losses
  const ModelConfig& config() const { return facts.config.model; }
};

// Opens `path` (checkpoint, export folder or model.safetensors). A model whose h picks what it
// is (a soup) is instantiated at `weights` (parse_domain_weights syntax; empty = uniform);
// others ignore it. Errors name the file.
MergeModel load_merge_model(const std::string& path, const std::string& weights = "");

// The result of a merge: one dense model, on the CPU.
class MergedModel final : public Model {
 public:
  // The facts (domains, corpus) are those of the first source (base first) recording a corpus.
  MergedModel(const std::vector<const MergeModel*>& sources, ModelConfig config, std::vector<float> theta,
              MergeParams params, std::vector<std::string> inputs, std::vector<double> weights,
              std::string base);

  const ModelConfig& config() const { return facts_.config.model; }
  std::vector<float> theta() const;                         // a copy, in param_layout order
  const MergeParams& params() const { return params_; }
  const std::vector<std::string>& inputs() const { return inputs_; }  // labels of the merged models
  const std::vector<double>& weights() const { return weights_; }     // as given (linear normalises)
  const std::string& base() const { return base_; }                   // label; empty for linear

  const ModelFacts& facts() const override { return facts_; }
  ModelCapabilities capabilities() const override;
  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const override;
  std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights& h) const override;
  MixingRole mixing_role(const DomainWeights& h, const ValidationSet* windows, int max_windows) const override;
  // Written like a specialist export whose card states the merge; the merge is recorded in the
  // run log as a finished run of kind "merge" (its config_json describes the merge) with one
  // export row (result.run_id, result.export_id). A run log that cannot record it does not fail
  // the export but adds a line to `notes`. h is ignored (a merge is one model).
  ModelExportResult export_specialist(const DomainWeights& h, const std::string& out_dir,
                                      const ModelExportOptions& options,
                                      std::vector<std::string>* notes = nullptr,
                                      const ModelExportProgress& progress = {}) const override;

 private:
  ModelFacts facts_;
  MergeParams params_;
  std::vector<std::string> inputs_;
  std::vector<double> weights_;
  std::string base_;
  std::shared_ptr<const DenseSpecialist> specialist_;
};

// Checks the inputs and merges them. Every model and the base must share one ModelConfig (an
// Error names the file that differs); every method but linear needs `base` (Error otherwise);
// linear ignores it.
std::shared_ptr<const MergedModel> merge_models(const std::vector<const MergeModel*>& models,
                                                const std::vector<double>& weights, const MergeModel* base,
                                                const MergeParams& params);

// Validation windows for comparing merges: those of the first source (base first, then the
// models) whose corpus is recorded and still there. Throws Error saying why when none is.
std::shared_ptr<const ValidationSet> merge_validation_set(const std::vector<const MergeModel*>& sources,
                                                          int windows_per_domain);

// A line for the model card, the run log and the GUI: "ties (density 0.5, lambda 1) of a (1), b
// (0.5) on base c".
std::string describe_merge(const MergedModel& merged);

}  // namespace souplab
