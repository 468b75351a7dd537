#pragma once
// A target's domain weights (docs/DESIGN.md §1.5), torch-free header. The target is a file or a folder of
// text (raw_documents.h) a user wants a specialist for; two estimates of h:
//  (a) histogram: the share of the target's pieces (documents cut into chunks) nearest to each
//      training domain's centroid, in the hashed n-gram TF-IDF space of text_embedding.h. The
//      domains' centroids are computed from the corpus cache once and stored next to its manifest
//      (<cache_dir>/centroids.safetensors), recomputed when the sources or options change.
//  (b) fit (Model::fit_weights): h = softmax(z) minimising the soup specialist's loss on windows of the target, Adam on
//      z from uniform h with the bank frozen; the best iterate on the sample is returned with its
//      loss and the uniform h's loss on the same windows.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "souplab/domain_weights.h"

namespace souplab {

class TokenCache;

struct HistogramOptions {
  int64_t dim = 4096;
  int ngram_min = 3, ngram_max = 5;
  uint64_t chunk_bytes = 4096;         // pieces of the target and of the domains (0: documents)
  uint64_t max_domain_bytes = 4 << 20; // sample of each domain for its centroid (0 = all)
  uint64_t max_target_bytes = 64 << 20;
  bool recompute = false;              // ignore stored centroids
};

struct TargetHistogram {
  DomainWeights weights;          // shares of the pieces, over the corpus's domains
  std::vector<uint64_t> counts;   // pieces nearest to each domain
  uint64_t pieces = 0;
  std::string centroids_path;     // where the domains' centroids are stored ("" if not stored)
  bool centroids_reused = false;  // read from there rather than computed now
  std::string note;               // e.g. why they could not be stored
  double seconds = 0;
};

// Errors name the file/folder: missing or unreadable target, a target with no text.
TargetHistogram histogram_weights(const TokenCache& cache, const std::string& target,
                                  const HistogramOptions& options = {});

// The domains' centroids (k, dim) row-major, computed or reused as above (for tests and tools).
std::vector<float> domain_centroids(const TokenCache& cache, const HistogramOptions& options,
                                    std::string* stored_at = nullptr, bool* reused = nullptr);

struct FitOptions {
  int steps = 40;           // Adam steps on the logits of h
  double lr = 0.1;
  int max_windows = 32;     // windows of the model's context taken from the target
  int batch_windows = 32;   // windows per step (all of them by default: a deterministic fit)
  uint64_t seed = 0;        // which windows when the batch is smaller than the sample
  // After each step: (step, steps, loss at that step's h). Return false to stop (cancel).
  std::function<bool(int, int, double)> progress;
};

struct FitResult {
  DomainWeights h;                // the best h found (on the sample)
  double loss = 0;                // mean loss (nats/byte) of the specialist at h on the sample
  double uniform_loss = 0;        // ... at uniform h
  int windows = 0, window_tokens = 0, steps = 0;
  bool cancelled = false;
  std::vector<double> trace;      // loss per step
  double seconds = 0;
};

// Fitting runs through a loaded model: Model::fit_weights(target, options) (souplab/model.h), for
// the models whose capabilities say can_fit_weights (soup banks). Errors name the file: a target
// missing, empty or shorter than 9 bytes; a model of another kind.

}  // namespace souplab
