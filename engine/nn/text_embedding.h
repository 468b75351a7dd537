#pragma once
// Documents as vectors (docs/DESIGN.md §1.5): hashed character n-gram TF-IDF. Every byte n-gram with
// ngram_min <= n <= ngram_max is hashed (FNV-1a) into one of `dim` buckets; a document's row holds
// its bucket counts, then tf-idf = sqrt(count) * idf, rows L2-normalised. sqrt, not the usual
// log(1 + count): log flattens long texts towards "every bucket present" while short ones stay
// 0/1, so k-means split documents by length (a planted 3-source test fell to purity 0.67);
// linear counts let whitespace runs dominate real text (purity 0.50 on ../shared/corpus). Hashing needs no
// vocabulary, so a target text is embedded exactly like the corpus it is compared with, given
// the same options and idf. Internal to engine/nn (includes libtorch).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace souplab {

struct TextEmbeddingOptions {
  int64_t dim = 4096;  // buckets (a few thousand: collisions stay rare among frequent n-grams)
  int ngram_min = 3;
  int ngram_max = 5;
  uint64_t max_doc_bytes = 0;  // hash at most this many bytes of a document (0 = all)
  // "tf=sqrt,dim=4096,ngrams=3-5,max_doc_bytes=0": stored next to centroids, checked when they are reused.
  std::string describe() const;
};

struct TextPiece {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

// Raw bucket counts (N, dim) float32, rows filled in parallel. Error for bad options.
torch::Tensor hashed_ngram_counts(const std::vector<TextPiece>& pieces, const TextEmbeddingOptions& o);

// Smooth idf over the rows of `counts`: log((1 + N) / (1 + df)) + 1, shape (dim).
torch::Tensor idf_weights(const torch::Tensor& counts);

// In place: counts -> sqrt(counts) * idf, each row L2-normalised (all-zero rows stay zero).
// Returns the same tensor.
torch::Tensor tfidf_(torch::Tensor counts, const torch::Tensor& idf);

// The bucket of one n-gram (for naming clusters by their most characteristic n-grams).
int64_t ngram_bucket(const uint8_t* data, int n, int64_t dim);

}  // namespace souplab
