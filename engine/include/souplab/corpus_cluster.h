#pragma once
// A raw folder of unlabeled documents split into k domains (docs/DESIGN.md §1.5), torch-free header.
// Documents are embedded by hashed character n-gram TF-IDF (text_embedding.h) and clustered by
// k-means (kmeans.h). The output is a corpus (a folder of domain folders) that `corpus build` and
// training take as it is:
//   <out>/<NN_name>/data.txt        the cluster's documents, form-feed separated
//   <out>/clusters.json             per cluster: name, size, its most characteristic n-grams
//   <out>/centroids.safetensors     "centroids" (k, dim) and "idf" (dim), the embedding options
// Top-level files are metadata to the corpus cache, so they do not become domains.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace souplab {

struct ClusterOptions {
  int k = 8;
  int restarts = 4;
  int max_iterations = 100;
  uint64_t seed = 0;
  int64_t mini_batch = 0;           // rows per mini-batch; 0: automatic (above 50,000 documents)
  int64_t dim = 4096;               // embedding buckets
  int ngram_min = 3, ngram_max = 5;
  uint64_t max_doc_bytes = 0;       // embed at most this many bytes of each unit (0 = all)
  // Documents are clustered as units of about this size: longer ones are cut (at a newline),
  // consecutive shorter ones of one file are grouped. Equal-sized units keep TF-IDF vectors
  // comparable: whole documents from 100 bytes to 1 MB made one giant cluster of the long ones
  // and many clusters of tiny ones. 0: each document is a unit.
  uint64_t unit_bytes = 4096;
  uint64_t max_bytes = 0;           // read at most this many bytes of the raw folder (0 = all)
  // Clusters holding fewer bytes are dissolved after k-means, smallest first: their units go to
  // the nearest remaining centre, so fewer than k domains may come out. At k = 128 on the
  // 14-domain corpus k-means left a 1.4 KB cluster of one document, too small to train on (a
  // domain needs its own training and validation windows) and sampled as a domain of its own.
  // 0: keep every cluster.
  uint64_t min_cluster_bytes = 16384;
  int top_ngrams = 8;               // per cluster, in clusters.json
  bool overwrite = false;           // replace a non-empty output folder
};

struct ClusterInfo {
  std::string name;                     // folder name, e.g. "03_def_self"
  std::vector<std::string> top_ngrams;  // most characteristic first, escaped for display
  uint64_t documents = 0, bytes = 0;
};

struct ClusterReport {
  std::string raw_dir, out_dir;
  size_t documents = 0;
  uint64_t bytes = 0;
  size_t units = 0;                     // what was clustered (see ClusterOptions::unit_bytes)
  int dissolved = 0;                    // clusters under min_cluster_bytes given to their neighbours
  std::vector<ClusterInfo> clusters;
  std::vector<int> assignment;          // cluster of each unit, in reading order
  std::vector<std::string> unit_labels; // the top folder of each unit ("" at the top)
  std::vector<uint64_t> unit_bytes;     // size of each unit
  double inertia = 0;
  bool mini_batch = false;
  int iterations = 0;
  double read_s = 0, embed_s = 0, kmeans_s = 0, write_s = 0, total_s = 0;
  // Against the raw folder's own sub-folders, when there are at least 2 of them (else -1;
  // text at the top level is left out), weighted by bytes: purity (share of the text in its
  // cluster's majority folder) and inverse purity (share in its folder's majority cluster).
  double purity = -1, inverse_purity = -1;
};

// (stage, message): "read", "embed", "kmeans", "write".
using ClusterProgress = std::function<void(const std::string&, const std::string&)>;

// Errors name the folder: raw folder missing or holding no document, fewer than 2 documents,
// k < 2 or larger than the number of documents, output folder not empty (without overwrite) or
// inside the raw folder, bad embedding options.
ClusterReport cluster_corpus(const std::string& raw_dir, const std::string& out_dir,
                             const ClusterOptions& options, const ClusterProgress& progress = {});

// Purity of `clusters` against `labels` (same length): share of items (by `weights`, when given)
// in their cluster's majority label. Swap the first two arguments for inverse purity.
double cluster_purity(const std::vector<int>& clusters, const std::vector<int>& labels,
                      const std::vector<double>& weights = {});

}  // namespace souplab
