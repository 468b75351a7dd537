// libFuzzer target: splitting text into documents at form-feed lines (the corpus reader's and
// `corpus cluster`'s), then cutting long documents into pieces and packing pieces into units.
// Invariants: documents lie inside the buffer in order without overlap; pieces cover their
// documents exactly; units partition the pieces.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/core/corpus_scan.h"
#include "engine/core/raw_documents.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  if (size < 2) return 0;
  // The first two bytes choose the piece and unit sizes; the rest is the text.
  const uint64_t chunk = data[0] % 64, unit = data[1] % 128;
  RawDocuments raw;
  raw.buffer.assign(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::vector<corpus_detail::DocSpan> spans;
  corpus_detail::split_form_feeds(raw.buffer, 0, raw.buffer.size(), &spans);
  uint64_t end = 0;
  for (const auto& d : spans) {
    if (d.size == 0 || d.offset < end || d.offset + d.size > raw.buffer.size()) std::abort();
    end = d.offset + d.size;
    raw.docs.push_back({d.offset, d.size, 0});
  }
  raw.files = {""};
  const auto pieces = chunk_documents(raw, chunk);
  uint64_t covered = 0;
  for (const auto& p : pieces) covered += p.size;
  uint64_t total = 0;
  for (const auto& d : raw.docs) total += d.size;
  if (covered != total) std::abort();
  const auto starts = pack_pieces(pieces, unit);
  for (size_t u = 1; u < starts.size(); ++u)
    if (starts[u] <= starts[u - 1] || starts[u] > pieces.size()) std::abort();
  if (!pieces.empty() && (starts.empty() || starts.front() != 0)) std::abort();
  return 0;
}
