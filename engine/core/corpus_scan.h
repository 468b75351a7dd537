#pragma once
// The reading half of the corpus cache (corpus.cpp holds the cache itself): listing a corpus
// folder's domains and files, hashing that listing, and cutting files into documents.
// Internal to engine/core; front ends use TokenCache.
#include <cstdint>
#include <string>
#include <vector>

namespace souplab {
namespace corpus_detail {

// FNV-1a 64: a cheap, dependency-free hash; plenty to notice a changed file listing.
class Fnv1a {
 public:
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001B3ULL;
  }
  void add_u64(uint64_t v) { add(&v, sizeof v); }
  void add_string(const std::string& s) {
    add_u64(s.size());  // length prefix: ("ab","c") and ("a","bc") must differ
    add(s.data(), s.size());
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xCBF29CE484222325ULL;
};

struct ScannedFile {
  std::string path;           // absolute
  std::string relative_path;  // relative to the corpus folder, e.g. "code_c/data.txt"
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

struct ScannedDomain {
  std::string name, path;
  std::vector<ScannedFile> files;  // sorted by path
};

// One document: a byte range of a domain's buffer, without its separator.
struct DocSpan {
  uint64_t offset = 0, size = 0;
};

// Lists the domain folders (sorted, hidden entries skipped, symlinked folders not entered) and
// their text files (sorted; docs.tsv and *.sha256 are metadata and skipped). Error naming the
// folder: missing, not a folder, unreadable, fewer than 2 domains, a domain without files.
std::vector<ScannedDomain> scan_corpus(const std::string& corpus);

// Splits buffer[begin, end) into documents at lines holding only a form feed ("\f\n", also
// "\f\r\n" and a final "\f" without newline). Empty documents are dropped.
void split_form_feeds(const std::string& buffer, size_t begin, size_t end,
                      std::vector<DocSpan>* docs);

// Reads a domain's files into one buffer (at most max_bytes when non-zero; the document that
// crosses the cap is cut there) and lists its documents. Error naming an unreadable file.
void read_domain_documents(const ScannedDomain& d, uint64_t max_bytes, std::string* buffer,
                           std::vector<DocSpan>* docs);

}  // namespace corpus_detail
}  // namespace souplab
