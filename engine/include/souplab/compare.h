#pragma once
// Side-by-side validation losses of any loadable models (soup checkpoints, dense baselines,
// exported specialists, post-hoc folders, merged folders) on one corpus's validation windows,
// per domain and on target mixtures (torch-free header; `souplab-cli compare` and the GUI's
// comparison view both call it).
//
// Each column's loss is the model instantiated at that column's h: one-hot h for a domain's
// column, the target's h for a target column (the Soup-of-Experts specialist for that target,
// the expert of its main domain for expert folders; routed, merged and dense models ignore h).
// A model given as PATH@H is instantiated at H for every column instead.
#include <functional>
#include <string>
#include <vector>

#include "souplab/domain_weights.h"
#include "souplab/model_kind.h"

namespace souplab {

struct CompareTarget {
  std::string name;        // as given, e.g. "code_c=0.5,bible_kjv=0.5"
  DomainWeights h;         // over the validation domains
};

struct CompareRow {
  std::string spec;        // as given (PATH or PATH@H)
  std::string label;       // file/folder name
  ModelKind kind = ModelKind::kSoup;
  std::vector<double> domain_loss;  // per validation domain
  std::vector<double> target_loss;  // per target: sum_d h_d * loss_d
};

struct CompareResult {
  std::vector<std::string> domains;
  std::vector<CompareTarget> targets;
  std::vector<CompareRow> rows;
};

struct CompareOptions {
  std::vector<std::string> targets;  // domain-weight texts (parse_domain_weights forms)
  int windows = 16;                  // validation windows per domain
  std::string device = "auto";
  std::string corpus_dir, cache_dir; // empty = the first model's corpus that has one
  std::function<void(size_t done, size_t total, const std::string& what)> on_progress;
  std::function<bool()> cancelled;   // polled between models; true -> Error("cancelled")
};

CompareResult compare_models(const std::vector<std::string>& models, const CompareOptions& options);

// A Markdown table of the result (domains, then targets), for docs/RESULTS.md.
std::string compare_markdown(const CompareResult& r);

}  // namespace souplab
