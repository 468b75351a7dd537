#pragma once
// Documents read from a file or a folder of text with no domain labels (docs/DESIGN.md §1.5): the input of
// `corpus cluster` and a target sample for its domain weights. A file is one document, or several
// separated by a line holding only a form feed, as in a corpus domain (corpus_scan.h).
// A folder is read recursively in path order; hidden entries, docs.tsv and *.sha256 are skipped
// and symlinked folders are not entered.
#include <cstdint>
#include <string>
#include <vector>

namespace souplab {

struct RawDocuments {
  std::string root;                 // the file or folder read
  std::string buffer;               // every file's bytes, concatenated
  struct Doc {
    uint64_t offset = 0, size = 0;  // byte range of buffer, without its separator
    uint32_t file = 0;              // index into files
  };
  std::vector<Doc> docs;
  std::vector<std::string> files;   // relative to root ("" when root is a file)

  std::string text(size_t i) const { return buffer.substr(size_t(docs[i].offset), size_t(docs[i].size)); }
  // The first folder of a document's (or a piece's) relative path ("" for a file at the top):
  // the label a raw folder of domain folders carries, for measuring clusters against it.
  std::string top_folder(const Doc& d) const;
};

// Reads `path` (file or folder). max_bytes > 0 stops reading there. Errors name the path: missing,
// unreadable, or holding no document (empty files only).
RawDocuments read_raw_documents(const std::string& path, uint64_t max_bytes = 0);

// Cuts documents longer than `chunk_bytes` into pieces of about that size (cut after a newline
// when one is in the last quarter of the piece). chunk_bytes 0 leaves them whole.
std::vector<RawDocuments::Doc> chunk_documents(const RawDocuments& raw, uint64_t chunk_bytes);

// Consecutive pieces of one file grouped into units of at most `unit_bytes` (a piece larger than
// that is a unit alone): unit u is pieces [starts[u], starts[u + 1]). Clustering embeds units, so
// that thousands of one-line documents (fortunes, dictionary entries) weigh as much text as one
// long document does, not thousands of times more. unit_bytes 0: one piece per unit.
std::vector<size_t> pack_pieces(const std::vector<RawDocuments::Doc>& pieces, uint64_t unit_bytes);

}  // namespace souplab
