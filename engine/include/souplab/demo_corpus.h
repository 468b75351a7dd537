#pragma once
// The product's own default corpus: a few clearly different domains of text that Debian 12
// packages install anyway (licences, C and C++ headers, Python, CMake, Perl, shell scripts, and
// fortunes if installed), so a fresh clone can train without /work/shared. Plain-text sources
// only (no gzip), read in-process, in sorted order, so the same machine builds the same corpus.
//
// Layout written (what TokenCache reads): <out_dir>/<domain>/data.txt holding documents
// separated by a line with only a form feed, <out_dir>/<domain>/docs.tsv (index, offset,
// length, source file; metadata the reader ignores) and <out_dir>/README.txt listing sources.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace souplab {

struct DemoCorpusOptions {
  uint64_t max_bytes_per_domain = 3u << 20;  // stop adding documents past this many bytes
  uint64_t max_bytes_per_file = 256u << 10;  // longer files are cut at a line end (one document)
  uint64_t min_bytes_per_domain = 64u << 10; // a domain with less text is dropped (with a note)
  std::string source_root = "/";             // prefix of the system paths (tests use a fake tree)
};

struct DemoDomainReport {
  std::string name;
  std::string description;   // where its text came from
  uint64_t documents = 0;
  uint64_t bytes = 0;        // text bytes in data.txt, separators excluded
  uint64_t skipped_binary = 0;      // files holding a NUL byte
  uint64_t skipped_unreadable = 0;  // files that could not be read
  bool kept = false;         // false: too little text, not written
};

struct DemoCorpusReport {
  std::vector<DemoDomainReport> domains;  // every candidate domain, kept or dropped
  std::vector<std::string> notes;         // human-readable lines: drops, missing sources
  size_t kept_domains() const;
};

// Progress: (domain index, domain count, message).
using DemoCorpusProgress = std::function<void(size_t, size_t, const std::string&)>;

// Builds the demo corpus into out_dir (replacing an existing one only once the new one is
// complete: it is built in a temporary sibling folder and renamed). Throws Error naming the
// folder if fewer than 2 domains have enough text or a write fails.
DemoCorpusReport build_demo_corpus(const std::string& out_dir,
                                   const DemoCorpusOptions& options = {},
                                   const DemoCorpusProgress& progress = {});

}  // namespace souplab
