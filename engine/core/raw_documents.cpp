#include "engine/core/raw_documents.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "engine/core/corpus_scan.h"
#include "souplab/error.h"

namespace souplab {
namespace fs = std::filesystem;
using corpus_detail::DocSpan;
using corpus_detail::ScannedDomain;
using corpus_detail::ScannedFile;

namespace {

bool skipped_name(const std::string& name) {
  return name.empty() || name[0] == '.' || name == "docs.tsv" ||
         (name.size() > 7 && name.compare(name.size() - 7, 7, ".sha256") == 0);
}

ScannedFile scanned(const fs::path& p, const std::string& relative) {
  struct stat st {};
  ScannedFile f;
  f.path = p.string();
  f.relative_path = relative;
  if (::stat(p.c_str(), &st) == 0) f.size = uint64_t(st.st_size);
  return f;
}

}  // namespace

std::string RawDocuments::top_folder(const Doc& d) const {
  const std::string& rel = files[d.file];
  const size_t slash = rel.find('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

RawDocuments read_raw_documents(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw file_error(path, "no such file or folder");
  std::vector<ScannedFile> files;
  if (fs::is_directory(st)) {
    fs::recursive_directory_iterator it(path, fs::directory_options::none, ec), end;
    if (ec) throw file_error(path, "cannot read folder: " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) throw file_error(path, "cannot read folder: " + ec.message());
      const std::string name = it->path().filename().string();
      std::error_code e2;
      if (skipped_name(name)) {
        if (it->is_directory(e2)) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(e2)) continue;
      files.push_back(scanned(it->path(), it->path().lexically_relative(path).string()));
    }
    std::sort(files.begin(), files.end(),
              [](const ScannedFile& a, const ScannedFile& b) { return a.path < b.path; });
    if (files.empty()) throw file_error(path, "folder holds no text files");
  } else {
    files.push_back(scanned(path, ""));
  }
  RawDocuments out;
  out.root = path;
  for (const ScannedFile& f : files) {
    if (max_bytes && out.buffer.size() >= max_bytes) break;
    ScannedDomain one{f.relative_path, f.path, {f}};
    std::vector<DocSpan> spans;
    read_domain_documents(one, max_bytes ? max_bytes - out.buffer.size() : 0, &out.buffer, &spans);
    const uint32_t index = uint32_t(out.files.size());
    out.files.push_back(f.relative_path);
    for (const DocSpan& s : spans) out.docs.push_back({s.offset, s.size, index});
  }
  if (out.docs.empty()) throw file_error(path, "holds no document (only empty files)");
  return out;
}

std::vector<RawDocuments::Doc> chunk_documents(const RawDocuments& raw, uint64_t chunk_bytes) {
  if (chunk_bytes == 0) return raw.docs;
  std::vector<RawDocuments::Doc> out;
  for (const auto& d : raw.docs) {
    uint64_t pos = d.offset;
    const uint64_t end = d.offset + d.size;
    while (pos < end) {
      uint64_t cut = std::min(end, pos + chunk_bytes);
      if (cut < end) {
        const uint64_t floor = pos + chunk_bytes * 3 / 4;
        for (uint64_t i = cut; i > floor; --i)
          if (raw.buffer[size_t(i - 1)] == '\n') {
            cut = i;
            break;
          }
        // A short tail joins the last piece rather than standing alone.
        if (end - cut < chunk_bytes / 4) cut = end;
      }
      out.push_back({pos, cut - pos, d.file});
      pos = cut;
    }
  }
  return out;
}

std::vector<size_t> pack_pieces(const std::vector<RawDocuments::Doc>& pieces, uint64_t unit_bytes) {
  std::vector<size_t> starts;
  uint64_t filled = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const bool same_file = i > 0 && pieces[i].file == pieces[i - 1].file;
    if (starts.empty() || !same_file || filled + pieces[i].size > unit_bytes) {
      starts.push_back(i);
      filled = 0;
    }
    filled += pieces[i].size;
  }
  starts.push_back(pieces.size());
  return starts;
}

}  // namespace souplab
