#pragma once
// A runnable model (torch-free header): what Model::instantiate returns. Evaluated per domain,
// sampled from, and, when it is one dense GPT-2 (DenseSpecialist), read as a parameter vector.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/domain_weights.h"

namespace souplab {

class ValidationSet;

namespace detail {
class Runner;       // the engine's side of a specialist (libtorch), opaque to front ends
class DenseRunner;  // ... of a dense one
}  // namespace detail

struct SampleOptions {
  double temperature = 0.8;  // <= 0 means greedy
  int top_k = 40;            // 0 = no top-k cut
  int max_new_tokens = 300;
  uint64_t seed = 0;
  // Decode with the weight matrices in IEEE half, as a GGUF f16 export runs: half the bytes read
  // per token (faster where memory bandwidth bounds it), logits within ~1e-3 of float32's. For
  // a dense float32 specialist on the CPU; generate throws for any other.
  bool f16_weights = false;
};

// Immutable once made: any number of threads may evaluate and sample from one specialist.
class Specialist {
 public:
  Specialist(std::shared_ptr<const detail::Runner> runner, DomainWeights h, double instantiate_ms);
  virtual ~Specialist();

  // The weights it was made for: the requested h for a soup, the recorded mixture for a model
  // that ignores h (empty when there is none).
  const DomainWeights& domain_weights() const { return h_; }
  double instantiate_ms() const { return ms_; }  // wall time of instantiation
  const ModelConfig& model_config() const;

  // Logits (batch, T, 256) as a flat row-major vector, for tokens (batch, T) given flat.
  std::vector<float> logits(const std::vector<int64_t>& tokens, int batch, int T) const;
  // Mean next-token cross-entropy (nats/byte) on each domain's windows of `data`. `cancelled` is
  // polled between domains; when it returns true the evaluation stops and an empty vector is
  // returned (the explorer drops an evaluation a newer slider move made stale).
  std::vector<double> evaluate(const ValidationSet& data, const std::function<bool()>& cancelled = {}) const;
  // Each window's mean loss for windows [first, first + count) of domain `domain` of `data`
  // (fewer when the domain has fewer): what the explorer pairs with a reference, window by
  // window, to put error bars on its bars and refine them a few windows at a time.
  std::vector<double> window_losses(const ValidationSet& data, size_t domain, int first, int count) const;
  // Samples a continuation of `prompt` (bytes). on_piece receives each new chunk of text as it is
  // produced (whole UTF-8 characters where possible); return false from it to stop early.
  // Returns the whole generated text.
  std::string generate(const std::string& prompt, const SampleOptions& options,
                       const std::function<bool(const std::string& piece)>& on_piece = {}) const;
  // n continuations of the same prompt sampled together (one batched forward per new byte, the
  // sampler's draws row by row from one generator seeded with options.seed); n = 1 is generate().
  // on_piece receives (sample index, chunk); returning false stops every sample.
  std::vector<std::string> generate_samples(
      const std::string& prompt, const SampleOptions& options, int n,
      const std::function<bool(int sample, const std::string& piece)>& on_piece = {}) const;

  const detail::Runner& runner() const { return *runner_; }

 private:
  std::shared_ptr<const detail::Runner> runner_;
  DomainWeights h_;
  double ms_;
};

// One dense GPT-2: a flat parameter vector theta, which is what export and merging need.
class DenseSpecialist final : public Specialist {
 public:
  DenseSpecialist(std::shared_ptr<const detail::DenseRunner> runner, DomainWeights h, double instantiate_ms);
  std::vector<float> parameters() const;  // theta on the CPU, in param_layout order
  const detail::DenseRunner& dense_runner() const { return *dense_; }

 private:
  std::shared_ptr<const detail::DenseRunner> dense_;
};

}  // namespace souplab
