#pragma once
// The typed model handle (torch-free header): whatever a path holds (a soup or dense checkpoint,
// a sparse MoE, an exported specialist, a merge, post-hoc experts, PHATGOOSE, WEMoE) opens as a
// Model whose class is its kind. Callers ask it what it can do (capabilities) and call the
// operations; nothing outside the model classes tells kinds apart.
//
// A Model is an immutable snapshot: any number of threads may instantiate from it while
// training goes on elsewhere.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/domain_weights.h"
#include "souplab/export.h"
#include "souplab/model_kind.h"
#include "souplab/param_layout.h"

namespace souplab {

class Specialist;
class DenseSpecialist;
struct FitOptions;  // souplab/target_weights.h
struct FitResult;
struct SoupInspection;  // souplab/inspect.h
struct MixingRole;      // souplab/inspect.h
class ValidationSet;     // souplab/validation_set.h

struct ModelFacts {
  std::string path;                  // checkpoint file or folder
  ModelKind kind = ModelKind::kSoup;
  int64_t run_id = 0;                // in the run log; 0 when unknown
  std::string run_name;
  int64_t step = 0;
  std::vector<std::string> domains;  // names, in h's order (empty for a bare specialist)
  RunConfig config;                  // model, bank and training config of the source run
  ParamCounts counts;
  std::string device;                // where the model's tensors live
  // What instantiate() runs in: "fp32", or "bf16" / "fp16" when load() asked for it and the
  // model is a soup, dense or exported one (every other kind stays "fp32").
  std::string precision = "fp32";
  DomainWeights training_mixture;    // the preset "training mixture" (empty when unknown)
  // False when the file carries no checksums (written before SoupLab checksummed its files, or by
  // another tool): it loaded as it is, unverified. Front ends say so.
  bool verified = true;
  std::string corpus_dir, cache_dir; // where validation data comes from (may be missing now)
};

// What a model can do, for front ends to offer only what works (the explorer's buttons).
struct ModelCapabilities {
  bool can_instantiate = false;  // h picks the model (soup: theta(h); experts: the main domain's)
  bool has_domains = false;      // it knows its domains, so h and per-domain losses apply
  bool can_export = false;       // one dense GPT-2 at every h: exportable and mergeable
  bool can_fit_weights = false;  // h can be fitted through it (souplab/target_weights.h)
};

class Model {
 public:
  // Opens a checkpoint (.ckpt), an exported specialist (folder or model.safetensors) or a
  // post-hoc folder (manifest.json). device: "auto", "cpu", "cuda[:i]". Errors name the file
  // and the problem. precision: what instantiate() runs the specialist in, "fp32", "bf16" or
  // "fp16" (an Error otherwise): the bank stays float32 and each specialist is summed in float32
  // and written once in it (engine/nn/instantiate_cast); instantiate_dense, export and merging
  // stay float32. Meant for GPUs: on the CPU bf16 runs (no faster than float32), fp16 is refused.
  static std::shared_ptr<const Model> load(const std::string& path, const std::string& device = "auto",
                                           const std::string& precision = "fp32");
  virtual ~Model() = default;

  virtual const ModelFacts& facts() const = 0;
  ModelKind kind() const { return facts().kind; }
  virtual ModelCapabilities capabilities() const = 0;

  // Weights over this model's domains, checked and normalised (Error naming the problem).
  DomainWeights weights(const std::vector<double>& h) const;
  DomainWeights parse_weights(const std::string& text) const;  // parse_domain_weights forms
  // The generic reference: uniform over the domains (empty for a model without domains).
  DomainWeights reference_weights() const;

  // The model to run for h: the soup's theta(h) = S + alpha(h)^T E, the expert of h's largest
  // weight for expert folders; every other kind is one model for all h. Empty h means the
  // reference weights. h over other domains than the model's is an Error.
  virtual std::shared_ptr<const Specialist> instantiate(const DomainWeights& h) const = 0;
  // The same as one dense GPT-2. Error unless capabilities().can_export.
  virtual std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights& h) const;

  // Writes the dense model at h as an export folder: instantiates it, optionally evaluates it on
  // the model's validation windows for the model card, writes the folder, and records the export
  // in the run log when the log knows the model's run. Throws Error (naming the folder or file)
  // when it cannot be written, or unless capabilities().can_export; out_dir is then left as it
  // was. Missing validation data and a run log that cannot record the export do not fail it:
  // each adds a line to `notes` (when given) saying why.
  virtual ModelExportResult export_specialist(const DomainWeights& h, const std::string& out_dir,
                                              const ModelExportOptions& options,
                                              std::vector<std::string>* notes = nullptr,
                                              const ModelExportProgress& progress = {}) const;

  // What makes up the specialist at h: alpha(h), the formula, and how far theta(h) is from S and
  // from the uniform-h specialist per tensor and per block (souplab/inspect.h). Error unless the
  // model is a soup bank with experts.
  virtual SoupInspection inspect(const DomainWeights& h) const;

  // What the model at h is made of (souplab/inspect.h MixingRole): alpha(h) for a soup, the
  // router's load for a MoE, the chosen expert, a merge's weights. `windows` (may be null;
  // max_windows > 0 caps each domain's windows) is where a MoE's routing is measured: an Error
  // without it. Error for a model that mixes nothing (a dense model, a plain specialist).
  virtual MixingRole mixing_role(const DomainWeights& h, const ValidationSet* windows, int max_windows = 0) const;

  // h minimising the instantiated model's loss on a target text (docs/DESIGN.md §1.5 (b)). Error unless
  // capabilities().can_fit_weights.
  virtual FitResult fit_weights(const std::string& target, const FitOptions& options) const;

 protected:
  // h checked against this model's domains; empty h becomes the reference weights.
  DomainWeights resolve(const DomainWeights& h) const;
};

}  // namespace souplab
