#include "souplab/corpus.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "souplab/atomic_file.h"
#include "engine/core/corpus_scan.h"
#include "souplab/error.h"
#include "souplab/paths.h"

namespace souplab {
namespace fs = std::filesystem;
using namespace corpus_detail;

namespace {

constexpr int kFormatVersion = 1;
constexpr uint8_t kDocEnd = 0x0C;
const char* const kManifest = "manifest.json";

// A read-only memory map of one token file; an empty file maps to a static empty buffer.
class MappedFile {
 public:
  MappedFile(const std::string& path, uint64_t expected_size) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw file_error(path, std::string("cannot stat: ") + std::strerror(errno));
    }
    if (uint64_t(st.st_size) != expected_size) {
      ::close(fd);
      throw file_error(path, "holds " + std::to_string(st.st_size) + " bytes but the manifest says " +
                                 std::to_string(expected_size) + " (corrupt or truncated cache)");
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        throw file_error(path, std::string("cannot memory-map: ") + std::strerror(e));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);  // the mapping stays valid without the descriptor
  }
  ~MappedFile() {
    if (size_ > 0) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }

 private:
  static constexpr uint8_t kEmpty[1] = {0};
  std::string path_;
  const uint8_t* data_ = kEmpty;
  size_t size_ = 0;
};

class MappedTokenCache final : public TokenCache {
 public:
  const std::string& corpus_dir() const override { return corpus_dir_; }
  const std::string& cache_dir() const override { return cache_dir_; }
  const std::string& content_hash() const override { return hash_; }
  const std::vector<DomainInfo>& domains() const override { return domains_; }
  const uint8_t* train_tokens(size_t d) const override { return train_.at(d)->data(); }
  const uint8_t* val_tokens(size_t d) const override { return val_.at(d)->data(); }

  std::string corpus_dir_, cache_dir_, hash_;
  std::vector<DomainInfo> domains_;
  std::vector<std::unique_ptr<MappedFile>> train_, val_;
};

// splitmix64: a well-mixed deterministic key per document index, so held-out documents are
// spread over the whole domain rather than bunched at one end.
uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The split of one domain: spans of the domain buffer that go to train and to validation.
struct Split {
  std::vector<DocSpan> train, val;
};

uint64_t span_tokens(const std::vector<DocSpan>& spans) {
  uint64_t n = 0;
  for (const DocSpan& s : spans) n += s.size + 1;  // + the end marker
  return n;
}

Split split_documents(const std::vector<DocSpan>& docs, const CorpusOptions& o) {
  Split split;
  const size_t n = docs.size();
  if (n == 0) return split;
  if (n == 1) {
    // One single document cannot be split by document: hold out its tail instead, as large as
    // the validation share or min_val_tokens asks, but never more than half of it.
    const DocSpan& d = docs[0];
    uint64_t want = std::max<uint64_t>(uint64_t(std::ceil(o.val_fraction * double(d.size))),
                                       o.min_val_tokens > 0 ? o.min_val_tokens - 1 : 0);
    uint64_t tail = std::min<uint64_t>(std::max<uint64_t>(want, 1), d.size / 2);
    split.train.push_back({d.offset, d.size - tail});
    if (tail > 0) split.val.push_back({d.offset + d.size - tail, tail});
    return split;
  }
  std::vector<char> is_val(n, 0);
  const uint64_t threshold = uint64_t(std::clamp(o.val_fraction, 0.0, 1.0) * 1e6);
  uint64_t val_tokens = 0;
  size_t val_docs = 0;
  for (size_t i = 0; i < n; ++i) {
    if (mix64(i) % 1000000 < threshold && val_docs + 1 < n) {
      is_val[i] = 1;
      ++val_docs;
      val_tokens += docs[i].size + 1;
    }
  }
  // Validation is never empty while there are two documents: an empty split cannot be evaluated.
  const uint64_t min_val = std::max<uint64_t>(o.min_val_tokens, 1);
  if (val_tokens < min_val) {
    // Top up in the order of the same keys, so the choice is deterministic and spread out.
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [](size_t a, size_t b) {
      uint64_t ka = mix64(a) % 1000000, kb = mix64(b) % 1000000;
      return ka != kb ? ka < kb : a < b;
    });
    for (size_t i : order) {
      if (val_tokens >= min_val || val_docs + 1 >= n) break;  // never all documents
      if (is_val[i]) continue;
      is_val[i] = 1;
      ++val_docs;
      val_tokens += docs[i].size + 1;
    }
  }
  for (size_t i = 0; i < n; ++i) (is_val[i] ? split.val : split.train).push_back(docs[i]);
  return split;
}

void write_split(const std::string& path, const std::string& buffer,
                 const std::vector<DocSpan>& spans) {
  write_file_atomically(path, [&](const ChunkWriter& write) {
    for (const DocSpan& s : spans) {
      write(buffer.data() + s.offset, s.size);
      write(&kDocEnd, 1);
    }
  });
}

std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[size_t(i)] = digits[v & 15];
  return s;
}

std::string absolute_path(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(dir), ec);
  if (ec) p = fs::absolute(dir).lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Hash of everything that decides the cache's contents: the listing of the sources (relative
// path, size, mtime) and the options that change what is read or how it is split. Cheap: no
// file is read.
std::string content_hash_of(const std::vector<ScannedDomain>& domains, const CorpusOptions& o) {
  Fnv1a h;
  h.add_string("souplab-corpus-v" + std::to_string(kFormatVersion));
  h.add_u64(uint64_t(std::llround(o.val_fraction * 1e9)));
  h.add_u64(o.min_val_tokens);
  h.add_u64(o.max_domain_bytes);
  for (const ScannedDomain& d : domains) {
    h.add_string(d.name);
    for (const ScannedFile& f : d.files) {
      h.add_string(f.relative_path);
      h.add_u64(f.size);
      h.add_u64(uint64_t(f.mtime_ns));
    }
  }
  return hex64(h.value());
}

// A non-negative integer field of the manifest. Checked before get<>(): converting an
// out-of-range float (e.g. 1e300) to an integer is undefined behaviour (found by fuzz/).
uint64_t manifest_u64(const nlohmann::json& j, const char* key, const std::string& path) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_unsigned())
    throw file_error(path, std::string("corrupt manifest: \"") + key + "\" is not a non-negative integer");
  return v.get<uint64_t>();
}

nlohmann::json read_manifest(const std::string& path) {
  std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw file_error(path, std::string("corrupt manifest: ") + e.what());
  }
}

void build_cache(const std::string& corpus, const std::string& cache_dir,
                 const std::vector<ScannedDomain>& scanned, const std::string& hash,
                 const CorpusOptions& o, const CorpusProgress& progress) {
  ensure_directory(cache_dir);
  // Remove the old manifest first: a build interrupted half-way leaves no manifest that could
  // vouch for a mix of old and new token files.
  std::error_code ec;
  fs::remove(fs::path(cache_dir) / kManifest, ec);

  nlohmann::json doms = nlohmann::json::array();
  for (size_t di = 0; di < scanned.size(); ++di) {
    const ScannedDomain& d = scanned[di];
    if (progress) progress(di, scanned.size(), "tokenising " + d.name);
    std::string buffer;
    std::vector<DocSpan> docs;
    read_domain_documents(d, o.max_domain_bytes, &buffer, &docs);
    if (docs.empty()) throw file_error(d.path, "domain holds no text (all its files are empty)");
    Split split = split_documents(docs, o);
    write_split((fs::path(cache_dir) / (d.name + ".train.bin")).string(), buffer, split.train);
    write_split((fs::path(cache_dir) / (d.name + ".val.bin")).string(), buffer, split.val);
    doms.push_back({{"name", d.name},
                    {"documents", docs.size()},
                    {"train_documents", split.train.size()},
                    {"val_documents", split.val.size()},
                    {"train_tokens", span_tokens(split.train)},
                    {"val_tokens", span_tokens(split.val)}});
  }
  nlohmann::json m = {{"format", kFormatVersion},
                      {"corpus_dir", corpus},
                      {"content_hash", hash},
                      {"options",
                       {{"val_fraction", o.val_fraction},
                        {"min_val_tokens", o.min_val_tokens},
                        {"max_domain_bytes", o.max_domain_bytes}}},
                      {"domains", doms}};
  write_file_atomically((fs::path(cache_dir) / kManifest).string(), m.dump(2) + "\n");
  if (progress) progress(scanned.size() - 1, scanned.size(), "cache written to " + cache_dir);
}

}  // namespace

std::vector<std::string> TokenCache::domain_names() const {
  std::vector<std::string> names;
  for (const DomainInfo& d : domains()) names.push_back(d.name);
  return names;
}

std::shared_ptr<const TokenCache> TokenCache::open_cache(const std::string& cache_dir) {
  const std::string path = (fs::path(cache_dir) / kManifest).string();
  nlohmann::json m = read_manifest(path);
  auto cache = std::make_shared<MappedTokenCache>();
  cache->cache_dir_ = cache_dir;
  try {
    if (manifest_u64(m, "format", path) != uint64_t(kFormatVersion))
      throw file_error(path, "unsupported cache format " + m.at("format").dump());
    cache->corpus_dir_ = m.at("corpus_dir").get<std::string>();
    cache->hash_ = m.at("content_hash").get<std::string>();
    for (const auto& d : m.at("domains")) {
      DomainInfo info;
      info.name = d.at("name").get<std::string>();
      info.documents = manifest_u64(d, "documents", path);
      info.train_tokens = manifest_u64(d, "train_tokens", path);
      info.val_tokens = manifest_u64(d, "val_tokens", path);
      if (info.name.empty() || info.name.find('/') != std::string::npos || info.name[0] == '.')
        throw file_error(path, "bad domain name \"" + info.name + "\"");
      cache->domains_.push_back(info);
    }
  } catch (const nlohmann::json::exception& e) {
    throw file_error(path, std::string("corrupt manifest: ") + e.what());
  }
  if (cache->domains_.size() < 2)
    throw file_error(path, "corrupt manifest: fewer than 2 domains");
  for (const DomainInfo& d : cache->domains_) {
    cache->train_.push_back(std::make_unique<MappedFile>(
        (fs::path(cache_dir) / (d.name + ".train.bin")).string(), d.train_tokens));
    cache->val_.push_back(std::make_unique<MappedFile>(
        (fs::path(cache_dir) / (d.name + ".val.bin")).string(), d.val_tokens));
  }
  return cache;
}

std::shared_ptr<const TokenCache> TokenCache::open(const std::string& corpus_dir,
                                                   const CorpusOptions& options,
                                                   const CorpusProgress& progress) {
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0))
    throw Error("val_fraction must be in [0, 1), got " + std::to_string(options.val_fraction));
  const std::string corpus = absolute_path(corpus_dir);
  std::vector<ScannedDomain> scanned = scan_corpus(corpus);
  const std::string hash = content_hash_of(scanned, options);
  std::string cache_dir = options.cache_dir;
  if (cache_dir.empty()) {
    Fnv1a h;
    h.add_string(corpus);
    cache_dir = default_cache_dir() + "/corpora/" + hex64(h.value());
  }

  std::shared_ptr<const TokenCache> cache;
  const std::string manifest = (fs::path(cache_dir) / kManifest).string();
  if (fs::exists(manifest)) {
    try {
      auto existing = open_cache(cache_dir);
      if (existing->content_hash() == hash && existing->corpus_dir() == corpus) cache = existing;
    } catch (const Error&) {
      // A damaged cache is only a cache: rebuild it from the sources.
    }
  }
  if (!cache) {
    build_cache(corpus, cache_dir, scanned, hash, options, progress);
    cache = open_cache(cache_dir);
  }
  // Checked on every open, not only when building: min_domain_tokens does not change the cache.
  for (size_t d = 0; d < cache->num_domains(); ++d) {
    const DomainInfo& info = cache->domains()[d];
    const std::string folder = (fs::path(corpus) / info.name).string();
    if (info.train_tokens < options.min_domain_tokens || info.val_tokens < options.min_domain_tokens)
      throw file_error(folder, "domain too small: " + std::to_string(info.train_tokens) +
                                   " training and " + std::to_string(info.val_tokens) +
                                   " validation tokens, need at least " +
                                   std::to_string(options.min_domain_tokens) +
                                   " in each (add text or lower min_domain_tokens)");
  }
  return cache;
}

}  // namespace souplab
