#include "engine/nn/text_embedding.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "souplab/error.h"

namespace souplab {
namespace {

constexpr uint64_t kFnvOffset = 0xCBF29CE484222325ULL, kFnvPrime = 0x100000001B3ULL;

// Final avalanche (splitmix64), then a multiply-shift onto [0, dim): FNV alone maps short
// n-grams to correlated low bits.
inline int64_t bucket_of(uint64_t h, int64_t dim) {
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return int64_t(((h >> 32) * uint64_t(dim)) >> 32);
}

void check(const TextEmbeddingOptions& o) {
  if (o.dim < 16 || o.dim > (int64_t(1) << 24))
    throw Error("text embedding: dim must be in [16, 16777216], got " + std::to_string(o.dim));
  if (o.ngram_min < 1 || o.ngram_max < o.ngram_min || o.ngram_max > 16)
    throw Error("text embedding: n-gram sizes must satisfy 1 <= min <= max <= 16, got " +
                std::to_string(o.ngram_min) + "-" + std::to_string(o.ngram_max));
}

}  // namespace

std::string TextEmbeddingOptions::describe() const {
  return "tf=sqrt,dim=" + std::to_string(dim) + ",ngrams=" + std::to_string(ngram_min) + "-" +
         std::to_string(ngram_max) + ",max_doc_bytes=" + std::to_string(max_doc_bytes);
}

int64_t ngram_bucket(const uint8_t* data, int n, int64_t dim) {
  uint64_t h = kFnvOffset;
  for (int j = 0; j < n; ++j) h = (h ^ data[j]) * kFnvPrime;
  return bucket_of(h, dim);
}

torch::Tensor hashed_ngram_counts(const std::vector<TextPiece>& pieces, const TextEmbeddingOptions& o) {
  check(o);
  const int64_t N = int64_t(pieces.size()), D = o.dim;
  torch::Tensor counts = torch::zeros({N, D}, torch::kFloat32);  // (N, dim)
  float* base = counts.data_ptr<float>();
  at::parallel_for(0, N, 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* row = base + i * D;
      const uint8_t* p = pieces[size_t(i)].data;
      uint64_t size = pieces[size_t(i)].size;
      if (o.max_doc_bytes && size > o.max_doc_bytes) size = o.max_doc_bytes;
      for (uint64_t s = 0; s + uint64_t(o.ngram_min) <= size; ++s) {
        uint64_t h = kFnvOffset;
        const int longest = int(std::min<uint64_t>(uint64_t(o.ngram_max), size - s));
        for (int j = 0; j < longest; ++j) {
          h = (h ^ p[s + uint64_t(j)]) * kFnvPrime;
          if (j + 1 >= o.ngram_min) row[bucket_of(h, D)] += 1.0f;
        }
      }
    }
  });
  return counts;
}

torch::Tensor idf_weights(const torch::Tensor& counts) {
  const double n = double(counts.size(0));
  auto df = (counts > 0).sum(0).to(torch::kFloat32);  // (dim)
  return torch::log((1.0 + n) / (df + 1.0)) + 1.0;
}

torch::Tensor tfidf_(torch::Tensor counts, const torch::Tensor& idf) {
  counts.sqrt_().mul_(idf.unsqueeze(0));
  auto norms = counts.norm(2, 1, true).clamp_min(1e-12);  // (N, 1)
  counts.div_(norms);
  return counts;
}

}  // namespace souplab
