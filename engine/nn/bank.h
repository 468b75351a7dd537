#pragma once
// A trained bank opened for exploration (torch-free header). A Bank is an immutable snapshot:
// any number of threads may instantiate from it while training goes on elsewhere.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/param_layout.h"

namespace souplab {

struct BankFacts {
  std::string path;                  // checkpoint file or exported specialist folder
  std::string kind;                  // "soup", "dense" or "specialist" (an exported dense model)
  int64_t run_id = 0;                // in the run log; 0 when unknown
  std::string run_name;
  int64_t step = 0;
  std::vector<std::string> domains;  // names, in h's order (empty for a bare specialist)
  RunConfig config;                  // model, bank and training config of the source run
  ParamCounts counts;
  std::string device;                // where the bank's tensors live
  std::vector<double> training_mixture;  // the preset "training mixture" (mean of pi or the dense h)
  std::string corpus_dir, cache_dir; // where validation data comes from (may be missing now)
};

class Specialist;

class Bank {
 public:
  // Opens a checkpoint (.ckpt) or an exported specialist (folder or model.safetensors).
  // device: "auto", "cpu", "cuda[:i]". Errors name the file and the problem.
  static std::shared_ptr<const Bank> load(const std::string& path, const std::string& device = "auto");
  virtual ~Bank() = default;
  virtual const BankFacts& facts() const = 0;
  // theta(h) = S + alpha(h)^T E: an ordinary dense model. h is validated and normalised; for a
  // dense bank h is ignored (but still validated when domains are known).
  virtual std::shared_ptr<const Specialist> instantiate(const std::vector<double>& h) const = 0;
};

class Specialist {
 public:
  virtual ~Specialist() = default;
  virtual const std::vector<double>& domain_weights() const = 0;
  virtual double instantiate_ms() const = 0;   // wall time of instantiation
  virtual const ModelConfig& model_config() const = 0;
  virtual std::vector<float> parameters() const = 0;  // theta on the CPU, in param_layout order
  // Logits (batch, T, 256) as a flat row-major vector, for tokens (batch, T) given flat.
  virtual std::vector<float> logits(const std::vector<int64_t>& tokens, int batch, int T) const = 0;
};

// The window shape of the explorer's quick evaluation tier for k domains: at most max_windows
// windows of at most max_block tokens per domain, fewer and then shorter ones (down to 16
// tokens) so that k * windows * block stays within token_budget. ~1,000 tokens evaluate in
// ~75 ms at the demo size on 2 cores (docs/BENCHMARKS.md, slider path), which with ~8 ms of
// instantiation keeps a slider move within DESIGN §4's 100 ms.
struct WindowShape {
  int block;
  int windows;
};
WindowShape quick_window_shape(int k, int max_block, int max_windows, int token_budget = 1024);

// Fixed per-domain validation windows taken from a corpus cache (deterministic).
class ValidationSet {
 public:
  // Opens the corpus cache (tokenising it first if needed).
  static std::shared_ptr<const ValidationSet> from_corpus(const std::string& corpus_dir,
                                                          const std::string& cache_dir,
                                                          int block_size, int windows_per_domain);
  // The validation set a bank was trained with (its corpus), or an Error saying it is missing.
  static std::shared_ptr<const ValidationSet> for_bank(const BankFacts& facts, int windows_per_domain);
  virtual ~ValidationSet() = default;
  virtual const std::vector<std::string>& domains() const = 0;
  virtual int block_size() const = 0;
};

// Mean next-token cross-entropy (nats/byte) of the specialist on each domain's windows.
// `cancelled` is polled between domains; when it returns true the evaluation stops and an
// empty vector is returned (the explorer drops an evaluation a newer slider move made stale).
std::vector<double> evaluate_per_domain(const Specialist& model, const ValidationSet& data,
                                        const std::function<bool()>& cancelled = {});

struct SampleOptions {
  double temperature = 0.8;  // <= 0 means greedy
  int top_k = 40;            // 0 = no top-k cut
  int max_new_tokens = 300;
  uint64_t seed = 0;
};

// Samples a continuation of `prompt` (bytes). on_piece receives each new chunk of text as it is
// produced (whole UTF-8 characters where possible); return false from it to stop early.
// Returns the whole generated text.
std::string generate_text(const Specialist& model, const std::string& prompt,
                          const SampleOptions& options,
                          const std::function<bool(const std::string& piece)>& on_piece = {});

}  // namespace souplab
