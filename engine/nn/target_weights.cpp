#include "souplab/target_weights.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "souplab/corpus.h"
#include "souplab/error.h"
#include "engine/core/raw_documents.h"
#include "engine/core/safetensors.h"
#include "engine/nn/fit_weights.h"
#include "engine/nn/target_text.h"
#include "engine/nn/gpt.h"
#include "engine/nn/kmeans.h"
#include "engine/nn/text_embedding.h"
#include "engine/nn/validation.h"

namespace souplab {
namespace {

constexpr const char* kCentroidsFile = "centroids.safetensors";

TextEmbeddingOptions embedding_of(const HistogramOptions& o) {
  TextEmbeddingOptions e;
  e.dim = o.dim;
  e.ngram_min = o.ngram_min;
  e.ngram_max = o.ngram_max;
  return e;
}

// Pieces of at most chunk_bytes of a byte range, cut at form feeds (the cache's document ends).
void cut(const uint8_t* data, uint64_t size, uint64_t chunk, std::vector<TextPiece>* out) {
  uint64_t start = 0;
  for (uint64_t i = 0; i <= size; ++i) {
    if (i < size && data[i] != 0x0C) continue;
    for (uint64_t p = start; p < i; p += chunk ? chunk : (i - p)) {
      const uint64_t n = chunk ? std::min(chunk, i - p) : i - p;
      if (n >= 16 || n == i - start) out->push_back({data + p, n});  // drop tiny tails
    }
    start = i + 1;
  }
}

// Every stride-th piece, so that at most max_bytes are kept, spread over the whole domain.
std::vector<TextPiece> sample(std::vector<TextPiece> pieces, uint64_t max_bytes) {
  uint64_t total = 0;
  for (const auto& p : pieces) total += p.size;
  if (!max_bytes || total <= max_bytes) return pieces;
  const size_t stride = size_t((total + max_bytes - 1) / max_bytes);
  std::vector<TextPiece> out;
  for (size_t i = 0; i < pieces.size(); i += stride) out.push_back(pieces[i]);
  return out;
}

std::vector<TextPiece> domain_pieces(const TokenCache& cache, size_t d, const HistogramOptions& o) {
  std::vector<TextPiece> pieces;
  cut(cache.train_tokens(d), cache.domains()[d].train_tokens, o.chunk_bytes, &pieces);
  return sample(std::move(pieces), o.max_domain_bytes);
}

std::string options_key(const TokenCache& cache, const HistogramOptions& o) {
  return cache.content_hash() + ";" + embedding_of(o).describe() + ",chunk_bytes=" +
         std::to_string(o.chunk_bytes) + ",max_domain_bytes=" + std::to_string(o.max_domain_bytes);
}

struct Centroids {
  torch::Tensor centres, idf;  // (k, dim), (dim)
};

bool load_stored(const std::string& path, const std::string& key, size_t k, int64_t dim, Centroids* out) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  try {
    const SafetensorsFile f = read_safetensors(path);
    auto it = f.metadata().find("key");
    if (it == f.metadata().end() || it->second != key) return false;
    const auto& c = f.at("centroids");
    if (c.shape != std::vector<int64_t>{int64_t(k), dim} || f.at("idf").shape != std::vector<int64_t>{dim})
      return false;
    auto cv = f.to_f32("centroids"), iv = f.to_f32("idf");
    out->centres = torch::from_blob(cv.data(), {int64_t(k), dim}, torch::kFloat32).clone();
    out->idf = torch::from_blob(iv.data(), {dim}, torch::kFloat32).clone();
    return true;
  } catch (const Error&) {
    return false;  // a damaged file is recomputed and replaced
  }
}

Centroids centroids_for(const TokenCache& cache, const HistogramOptions& o, std::string* stored_at,
                        bool* reused, std::string* note) {
  torch::NoGradGuard no_grad;
  const TextEmbeddingOptions eo = embedding_of(o);
  const std::string path = cache.cache_dir() + "/" + kCentroidsFile;
  const std::string key = options_key(cache, o);
  const size_t k = cache.num_domains();
  Centroids c;
  if (reused) *reused = false;
  if (!o.recompute && load_stored(path, key, k, o.dim, &c)) {
    if (stored_at) *stored_at = path;
    if (reused) *reused = true;
    return c;
  }
  // Pass 1: document frequencies over every domain's pieces; pass 2: the tf-idf means. Hashing
  // twice costs less than holding every domain's counts at once.
  auto df = torch::zeros({o.dim}, torch::kFloat32);
  double n = 0;
  for (size_t d = 0; d < k; ++d) {
    auto counts = hashed_ngram_counts(domain_pieces(cache, d, o), eo);
    df += (counts > 0).sum(0).to(torch::kFloat32);
    n += double(counts.size(0));
  }
  c.idf = torch::log((1.0 + n) / (df + 1.0)) + 1.0;
  c.centres = torch::zeros({int64_t(k), o.dim}, torch::kFloat32);
  for (size_t d = 0; d < k; ++d) {
    auto pieces = domain_pieces(cache, d, o);
    if (pieces.empty()) throw Error(cache.corpus_dir() + "/" + cache.domains()[d].name + ": no text");
    c.centres[int64_t(d)].copy_(tfidf_(hashed_ngram_counts(pieces, eo), c.idf).mean(0));
  }
  try {
    nlohmann::json names = cache.domain_names();
    write_safetensors(path,
                      {{"centroids", DType::kF32, {int64_t(k), o.dim}, c.centres.data_ptr<float>()},
                       {"idf", DType::kF32, {o.dim}, c.idf.data_ptr<float>()}},
                      {{"key", key}, {"domains", names.dump()}});
    if (stored_at) *stored_at = path;
  } catch (const Error& e) {
    if (note) *note = std::string("centroids not stored: ") + e.what();
  }
  return c;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<float> domain_centroids(const TokenCache& cache, const HistogramOptions& o,
                                    std::string* stored_at, bool* reused) {
  const Centroids c = centroids_for(cache, o, stored_at, reused, nullptr);
  const auto flat = c.centres.contiguous();
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

TargetHistogram histogram_weights(const TokenCache& cache, const std::string& target,
                                  const HistogramOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  TargetHistogram out;
  const RawDocuments raw = read_raw_documents(target, o.max_target_bytes);
  std::vector<TextPiece> pieces;
  for (const auto& d : chunk_documents(raw, o.chunk_bytes))
    pieces.push_back({reinterpret_cast<const uint8_t*>(raw.buffer.data() + d.offset), d.size});
  const Centroids c = centroids_for(cache, o, &out.centroids_path, &out.centroids_reused, &out.note);
  auto x = tfidf_(hashed_ngram_counts(pieces, embedding_of(o)), c.idf);  // (N, dim)
  auto counts = torch::bincount(nearest_centroid(x, c.centres), {}, int64_t(cache.num_domains()));
  out.pieces = pieces.size();
  std::vector<double> shares;
  for (int64_t d = 0; d < counts.numel(); ++d) {
    out.counts.push_back(uint64_t(counts[d].item<int64_t>()));
    shares.push_back(double(out.counts.back()) / double(out.pieces));
  }
  out.weights = DomainWeights(shares, cache.domain_names());
  out.seconds = seconds_since(t0);
  return out;
}

FitResult fit_weights_through(const SoupBank& bank, const std::vector<std::string>& domains,
                              const std::string& target, const FitOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.steps < 0 || o.max_windows < 1 || o.batch_windows < 1 || !(o.lr > 0))
    throw Error("fit: steps >= 0, windows >= 1 and lr > 0 are required");
  const torch::Device device = bank.device();
  const ModelConfig& mc = bank.model_config();
  FitResult r;
  const int64_t k = bank.n_domains();

  // The target as the cache would hold it (documents, each followed by a form feed), in windows.
  const TargetWindows target_w = target_windows(target, mc.block_size, o.max_windows);
  const auto& windows = target_w.windows;  // (W, T + 1)
  const int64_t T = target_w.T;
  const int64_t W = windows.size(0);
  r.windows = int(W);
  r.window_tokens = int(T);

  auto loss_at = [&](const torch::Tensor& h) {
    torch::NoGradGuard no_grad;
    return mean_window_loss(bank.theta(h), mc, bank.layout(), windows);
  };
  const auto uniform = torch::full({k}, 1.0 / double(k), torch::TensorOptions().dtype(torch::kFloat32).device(device));
  r.uniform_loss = loss_at(uniform);

  auto z = torch::zeros({k}, torch::TensorOptions().dtype(torch::kFloat32).device(device)).requires_grad_(true);
  torch::optim::Adam adam({z}, torch::optim::AdamOptions(o.lr));
  const int64_t B = std::min<int64_t>(o.batch_windows, W);
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(o.seed);
  torch::Tensor best_h = uniform.clone();
  double best = r.uniform_loss;
  for (int step = 0; step < o.steps; ++step) {
    auto rows = B == W ? windows : windows.index_select(0, torch::randperm(W, gen).narrow(0, 0, B));
    rows = rows.to(device);
    auto h = torch::softmax(z, 0);
    auto logits = gpt_forward(bank.theta(h), mc, bank.layout(), rows.narrow(1, 0, T));  // (B, T, V)
    auto loss = lm_loss(logits, rows.narrow(1, 1, T));
    // Only z's gradient: the bank's tensors require grad for training but stay frozen here.
    auto grad = torch::autograd::grad({loss}, {z})[0];
    const double value = loss.item<double>();  // sync point
    r.trace.push_back(value);
    if (B == W && value < best) {  // full batch: the step's loss is the sample's loss at h
      best = value;
      best_h = h.detach().clone();
    }
    z.mutable_grad() = grad;
    adam.step();
    adam.zero_grad();
    r.steps = step + 1;
    if (o.progress && !o.progress(step + 1, o.steps, value)) {
      r.cancelled = true;
      break;
    }
  }
  torch::NoGradGuard no_grad;
  auto last_h = torch::softmax(z, 0);
  const double last = loss_at(last_h);
  if (last <= best) {  // mini-batches: the last h unless uniform h does better
    best = last;
    best_h = last_h;
  }
  r.loss = best;
  const auto hv = best_h.to(torch::kCPU, torch::kFloat64).contiguous();
  r.h = DomainWeights(std::vector<double>(hv.data_ptr<double>(), hv.data_ptr<double>() + hv.numel()), domains);
  r.seconds = seconds_since(t0);
  return r;
}

}  // namespace souplab
