#include "engine/core/corpus_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "souplab/error.h"

namespace souplab {
namespace corpus_detail {
namespace fs = std::filesystem;

namespace {

bool is_metadata_file(const std::string& name) {
  // docs.tsv indexes a form-feed file and *.sha256 holds checksums: neither is text to learn.
  return name == "docs.tsv" ||
         (name.size() > 7 && name.compare(name.size() - 7, 7, ".sha256") == 0);
}

// Domain names go into JSON (cache manifest, checkpoints) and the run log, which hold UTF-8 only.
bool is_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

std::vector<ScannedFile> scan_domain(const std::string& corpus, const std::string& dir) {
  std::vector<ScannedFile> files;
  std::error_code ec;
  // directory_options::none: symlinked folders are not entered, so a symlink loop cannot hang.
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) throw file_error(dir, "cannot read folder: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw file_error(dir, "cannot read folder: " + ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.empty() || name[0] == '.') {
      std::error_code dir_ec;
      if (it->is_directory(dir_ec)) it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // folders, dangling links
    if (is_metadata_file(name)) continue;
    ScannedFile f;
    f.path = p.string();
    f.relative_path = p.lexically_relative(corpus).string();
    f.size = uint64_t(st.st_size);
    f.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    files.push_back(std::move(f));
  }
  if (ec) throw file_error(dir, "cannot read folder: " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const ScannedFile& a, const ScannedFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace

std::vector<ScannedDomain> scan_corpus(const std::string& corpus) {
  std::error_code ec;
  fs::file_status st = fs::status(corpus, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw file_error(corpus, "cannot access corpus folder: " + ec.message());
  if (!fs::exists(st)) throw file_error(corpus, "corpus folder does not exist");
  if (!fs::is_directory(st)) throw file_error(corpus, "corpus path is not a folder");
  std::vector<ScannedDomain> domains;
  fs::directory_iterator it(corpus, ec), end;
  if (ec) throw file_error(corpus, "cannot read corpus folder: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw file_error(corpus, "cannot read corpus folder: " + ec.message());
    const std::string name = it->path().filename().string();
    std::error_code dir_ec;
    if (name.empty() || name[0] == '.' || !it->is_directory(dir_ec)) continue;  // files: metadata
    if (!is_utf8(name))  // found by tests/reliability: the JSON writer threw on such a name
      throw file_error(it->path().string(), "domain folder name is not valid UTF-8; rename it");
    domains.push_back({name, it->path().string(), {}});
  }
  std::sort(domains.begin(), domains.end(),
            [](const ScannedDomain& a, const ScannedDomain& b) { return a.name < b.name; });
  if (domains.size() < 2)
    throw file_error(corpus, "a corpus needs at least 2 domain folders, found " +
                                 std::to_string(domains.size()));
  for (ScannedDomain& d : domains) {
    d.files = scan_domain(corpus, d.path);
    if (d.files.empty()) throw file_error(d.path, "domain folder holds no text files");
  }
  return domains;
}

void split_form_feeds(const std::string& buffer, size_t begin, size_t end,
                      std::vector<DocSpan>* docs) {
  const char* base = buffer.data();
  size_t doc_start = begin, pos = begin;
  while (pos < end) {
    const void* hit = std::memchr(base + pos, '\f', end - pos);
    if (!hit) break;
    size_t i = size_t(static_cast<const char*>(hit) - base);
    pos = i + 1;
    if (i != begin && base[i - 1] != '\n') continue;  // not at a line start
    size_t after = i + 1;
    if (after < end && base[after] == '\r') ++after;
    if (after < end && base[after] != '\n') continue;  // the line holds more than the form feed
    if (after < end) ++after;
    if (i > doc_start) docs->push_back({doc_start, i - doc_start});
    doc_start = pos = after;
  }
  if (end > doc_start) docs->push_back({doc_start, end - doc_start});
}

void read_domain_documents(const ScannedDomain& d, uint64_t max_bytes, std::string* buffer,
                           std::vector<DocSpan>* docs) {
  uint64_t total = 0;
  for (const ScannedFile& f : d.files) total += f.size;
  buffer->reserve(size_t(max_bytes ? std::min(total, max_bytes) : total));
  for (const ScannedFile& f : d.files) {
    uint64_t want = f.size;
    if (max_bytes) {
      if (buffer->size() >= max_bytes) break;
      want = std::min<uint64_t>(want, max_bytes - buffer->size());
    }
    int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw file_error(f.path, std::string("cannot read: ") + std::strerror(errno));
    const size_t begin = buffer->size();
    buffer->resize(begin + size_t(want));
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::read(fd, &(*buffer)[begin + got], size_t(want - got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        throw file_error(f.path, std::string("cannot read: ") + std::strerror(e));
      }
      if (n == 0) break;  // the file shrank since the scan: take what is there
      got += size_t(n);
    }
    ::close(fd);
    buffer->resize(begin + got);
    split_form_feeds(*buffer, begin, buffer->size(), docs);
  }
}

}  // namespace corpus_detail
}  // namespace souplab
