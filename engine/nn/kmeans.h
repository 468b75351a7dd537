#pragma once
// k-means on the rows of a float matrix (docs/DESIGN.md §1.5): k-means++ initialisation from a seeded
// generator, Lloyd iterations, several restarts keeping the lowest inertia; mini-batch updates
// (Sculley 2010, per-centre learning rate 1/count) when the data are large. Vectorised: one
// (N, k) distance matrix per pass. Internal to engine/nn (includes libtorch).
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

namespace souplab {

struct KMeansOptions {
  int k = 8;
  int restarts = 4;             // independent k-means++ starts; the lowest inertia wins
  int max_iterations = 100;     // Lloyd passes (mini-batch: epochs over the data)
  double tolerance = 1e-6;      // stop when the mean squared centre shift falls below this
  uint64_t seed = 0;
  int64_t mini_batch = 0;       // batch rows; 0: automatic (1024 when N > mini_batch_above)
  int64_t mini_batch_above = 50000;
  // (restart, restarts, message); may be empty.
  std::function<void(int, int, const std::string&)> progress;
};

struct KMeansResult {
  torch::Tensor centroids;  // (k, d) float32
  torch::Tensor labels;     // (N) int64
  torch::Tensor sizes;      // (k) int64
  double inertia = 0;       // sum of squared distances to the nearest centre
  int iterations = 0;       // of the winning restart
  bool mini_batch = false;
};

// Errors: k < 1, fewer rows than k, restarts < 1.
KMeansResult kmeans(const torch::Tensor& x, const KMeansOptions& options);

// Squared distances (N, k) of the rows of x to the centres c. xx: the rows' squared norms (N, 1)
// when known (computing them costs a pass over x as large as x).
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& c,
                                const torch::Tensor& xx = {});

// The nearest centre of each row (N) int64, and optionally its squared distance.
torch::Tensor nearest_centroid(const torch::Tensor& x, const torch::Tensor& c,
                               torch::Tensor* distance = nullptr, const torch::Tensor& xx = {});

}  // namespace souplab
