#include "engine/nn/kmeans.h"

#include <limits>

#include "souplab/error.h"

namespace souplab {
namespace {

constexpr int64_t kRows = 16384;  // rows per distance block: bounds the (rows, k) temporaries

// k-means++: the first centre uniformly, each next one with probability ~ D(x)^2.
torch::Tensor kmeans_plus_plus(const torch::Tensor& x, int k, torch::Generator& gen, const torch::Tensor& xx) {
  const int64_t N = x.size(0);
  auto centres = torch::empty({k, x.size(1)}, x.options());
  int64_t first = torch::randint(N, {1}, gen, torch::kInt64).item<int64_t>();
  centres[0].copy_(x[first]);
  auto d2 = squared_distances(x, centres.narrow(0, 0, 1), xx).squeeze(1);  // (N)
  for (int c = 1; c < k; ++c) {
    auto w = d2.clamp_min(0).to(torch::kFloat64);
    int64_t pick;
    if (w.sum().item<double>() <= 0)  // every point sits on a centre: any point will do
      pick = torch::randint(N, {1}, gen, torch::kInt64).item<int64_t>();
    else
      pick = torch::multinomial(w, 1, false, gen).item<int64_t>();
    centres[c].copy_(x[pick]);
    d2 = torch::minimum(d2, squared_distances(x, centres.narrow(0, c, 1), xx).squeeze(1));
  }
  return centres;
}

// Sum and count of the rows assigned to each centre.
void accumulate(const torch::Tensor& x, const torch::Tensor& labels, int k, torch::Tensor* sums,
                torch::Tensor* counts) {
  *sums = torch::zeros({k, x.size(1)}, x.options()).index_add_(0, labels, x);
  *counts = torch::bincount(labels, {}, k);
}

// Empty centres take the points farthest from their own centre, one each.
void reseed_empty(const torch::Tensor& x, const torch::Tensor& counts, const torch::Tensor& dist,
                  torch::Tensor& centres) {
  auto empty = (counts == 0).nonzero().flatten();
  if (empty.numel() == 0) return;
  auto far = std::get<1>(dist.topk(std::min<int64_t>(empty.numel(), dist.size(0))));
  for (int64_t i = 0; i < far.numel(); ++i) centres[empty[i].item<int64_t>()].copy_(x[far[i]]);
}

struct Run {
  torch::Tensor centres;
  int iterations = 0;
};

Run lloyd(const torch::Tensor& x, torch::Tensor centres, const KMeansOptions& o, const torch::Tensor& xx) {
  const int k = int(centres.size(0));
  Run r;
  for (int it = 0; it < o.max_iterations; ++it) {
    torch::Tensor dist;
    auto labels = nearest_centroid(x, centres, &dist, xx);
    torch::Tensor sums, counts;
    accumulate(x, labels, k, &sums, &counts);
    auto next = sums / counts.clamp_min(1).unsqueeze(1).to(x.scalar_type());
    // An empty centre keeps its place until reseeded.
    next = torch::where((counts > 0).unsqueeze(1), next, centres);
    reseed_empty(x, counts, dist, next);
    const double shift = (next - centres).pow(2).sum(1).mean().item<double>();  // sync point
    centres = next;
    r.iterations = it + 1;
    if (shift < o.tolerance) break;
  }
  r.centres = centres;
  return r;
}

Run mini_batch(const torch::Tensor& x, torch::Tensor centres, const KMeansOptions& o, int64_t batch,
               torch::Generator& gen, const torch::Tensor& xx) {
  const int64_t N = x.size(0);
  const int k = int(centres.size(0));
  auto seen = torch::zeros({k}, x.options());  // rows each centre has absorbed
  const int64_t per_epoch = std::max<int64_t>(1, N / batch);
  Run r;
  for (int epoch = 0; epoch < o.max_iterations; ++epoch) {
    auto before = centres.clone();
    for (int64_t s = 0; s < per_epoch; ++s) {
      auto idx = torch::randint(N, {batch}, gen, torch::kInt64);
      auto xb = x.index_select(0, idx);  // (b, d)
      auto labels = nearest_centroid(xb, centres, nullptr, xx.index_select(0, idx));
      torch::Tensor sums, counts;
      accumulate(xb, labels, k, &sums, &counts);
      auto m = counts.to(x.scalar_type());
      seen += m;
      // Each centre moves to the running mean of every row it has absorbed.
      centres += (sums - m.unsqueeze(1) * centres) / seen.clamp_min(1).unsqueeze(1);
    }
    r.iterations = epoch + 1;
    if ((centres - before).pow(2).sum(1).mean().item<double>() < o.tolerance) break;
  }
  // Centres no batch ever reached are reseeded from the full data, then one Lloyd pass settles.
  torch::Tensor dist;
  auto labels = nearest_centroid(x, centres, &dist, xx);
  reseed_empty(x, torch::bincount(labels, {}, k), dist, centres);
  KMeansOptions one = o;
  one.max_iterations = 1;
  r.centres = lloyd(x, centres, one, xx).centres;
  return r;
}

}  // namespace

torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& xx_in) {
  const auto xx = xx_in.defined() ? xx_in : x.pow(2).sum(1, true);  // (N, 1)
  auto cc = c.pow(2).sum(1).unsqueeze(0);         // (1, k)
  return (xx - 2 * x.matmul(c.t()) + cc).clamp_min_(0);  // (N, k)
}

torch::Tensor nearest_centroid(const torch::Tensor& x, const torch::Tensor& c, torch::Tensor* distance,
                               const torch::Tensor& xx) {
  const int64_t N = x.size(0);
  auto labels = torch::empty({N}, torch::kInt64);
  torch::Tensor dist = torch::empty({N}, x.options());
  for (int64_t i = 0; i < N; i += kRows) {
    const int64_t n = std::min(kRows, N - i);
    auto best = squared_distances(x.narrow(0, i, n), c, xx.defined() ? xx.narrow(0, i, n) : xx).min(1);
    dist.narrow(0, i, n).copy_(std::get<0>(best));
    labels.narrow(0, i, n).copy_(std::get<1>(best));
  }
  if (distance) *distance = dist;
  return labels;
}

KMeansResult kmeans(const torch::Tensor& x_in, const KMeansOptions& o) {
  if (o.k < 1) throw Error("k-means: k must be >= 1, got " + std::to_string(o.k));
  if (o.restarts < 1) throw Error("k-means: restarts must be >= 1");
  if (x_in.dim() != 2 || x_in.size(0) < o.k)
    throw Error("k-means: " + std::to_string(x_in.dim() == 2 ? x_in.size(0) : 0) +
                " points cannot make " + std::to_string(o.k) + " clusters");
  torch::NoGradGuard no_grad;
  const torch::Tensor x = x_in.to(torch::kFloat32).contiguous();
  const int64_t N = x.size(0);
  const torch::Tensor xx = x.pow(2).sum(1, true);  // (N, 1), once
  const int64_t batch = o.mini_batch > 0 ? o.mini_batch : (N > o.mini_batch_above ? 1024 : 0);
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(o.seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < o.restarts; ++r) {
    if (o.progress) o.progress(r, o.restarts, "k-means restart " + std::to_string(r + 1));
    auto init = kmeans_plus_plus(x, o.k, gen, xx);
    Run run = batch > 0 && batch < N ? mini_batch(x, init, o, batch, gen, xx) : lloyd(x, init, o, xx);
    torch::Tensor dist;
    auto labels = nearest_centroid(x, run.centres, &dist, xx);
    const double inertia = dist.sum().to(torch::kFloat64).item<double>();
    if (inertia < best.inertia) {
      best.centroids = run.centres;
      best.labels = labels;
      best.inertia = inertia;
      best.iterations = run.iterations;
    }
  }
  best.mini_batch = batch > 0 && batch < N;
  best.sizes = torch::bincount(best.labels, {}, o.k);
  return best;
}

}  // namespace souplab
