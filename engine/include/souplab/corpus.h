#pragma once
// A corpus: a folder of domain folders. A domain holds text files; a file is one document, or
// several documents separated by a line holding only a form feed ("\f\n"). Bytes are tokens.
//
// The corpus is tokenised once into a cache folder: one uint8 token file per domain and split,
// and a manifest (JSON) with the sizes and a content hash of the sources. The cache is
// memory-mapped; it is rebuilt only when the sources change (their hash differs).
// Train/validation are split deterministically by document.
//
// Details (corpus.cpp, corpus_scan.cpp): domains are the corpus folder's sub-folders in name
// order; files at the top level (README, stats.json...) and hidden entries are ignored, as are
// docs.tsv and *.sha256 in domains. Symlinked sub-folders are not entered. A document goes to
// validation by a fixed hash of its index (share val_fraction), topped up to min_val_tokens but
// never taking every document, and never leaving validation empty; a domain of one single
// document holds out its tail (at most half) instead. The content hash covers every file's
// relative path, size and mtime plus val_fraction, min_val_tokens and max_domain_bytes.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace souplab {

struct CorpusOptions {
  std::string cache_dir;             // empty: <default_cache_dir()>/corpora/<hash of the abs path>
  double val_fraction = 0.01;        // share of each domain's documents held out
  uint64_t min_val_tokens = 8192;    // ...but at least this many validation tokens per domain
  uint64_t min_domain_tokens = 257;  // a domain smaller than one context window + 1 is an error
  uint64_t max_domain_bytes = 0;     // 0: no cap; else read at most this many bytes per domain
};

struct DomainInfo {
  std::string name;           // the domain folder's name
  uint64_t documents = 0;
  uint64_t train_tokens = 0;
  uint64_t val_tokens = 0;
};

// Progress while building the cache: (domain index, domain count, message).
using CorpusProgress = std::function<void(size_t, size_t, const std::string&)>;

class TokenCache {
 public:
  // Opens the cache of `corpus_dir`, (re)building it first if missing or stale. Throws Error
  // naming the folder/file for: a missing or unreadable folder, fewer than 2 domains, an empty
  // domain, an unreadable file, a domain smaller than options.min_domain_tokens.
  static std::shared_ptr<const TokenCache> open(const std::string& corpus_dir,
                                                const CorpusOptions& options = {},
                                                const CorpusProgress& progress = {});
  // Opens an existing cache folder directly (no source corpus needed).
  static std::shared_ptr<const TokenCache> open_cache(const std::string& cache_dir);

  virtual ~TokenCache() = default;
  virtual const std::string& corpus_dir() const = 0;
  virtual const std::string& cache_dir() const = 0;
  virtual const std::string& content_hash() const = 0;  // hex digest of the sources
  virtual const std::vector<DomainInfo>& domains() const = 0;
  std::vector<std::string> domain_names() const;
  size_t num_domains() const { return domains().size(); }

  // Memory-mapped tokens of one domain's split. Documents are concatenated, each followed by a
  // form feed byte (0x0C) as its end marker.
  virtual const uint8_t* train_tokens(size_t domain) const = 0;
  virtual const uint8_t* val_tokens(size_t domain) const = 0;
};

}  // namespace souplab
