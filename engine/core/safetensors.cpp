#include "engine/core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

// Header-only use of Debian's libxxhash-dev: nothing to link, nothing for the .deb to depend on.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "souplab/atomic_file.h"
#include "souplab/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O copies host memory as little-endian: big-endian hosts need byte swaps"
#endif

namespace souplab {

namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "BOOL", 1}, {DType::kU8, "U8", 1},     {DType::kI8, "I8", 1},
    {DType::kI16, "I16", 2},   {DType::kU16, "U16", 2},   {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI32, "I32", 4},   {DType::kU32, "U32", 4},
    {DType::kF32, "F32", 4},   {DType::kF64, "F64", 8},   {DType::kI64, "I64", 8},
    {DType::kU64, "U64", 8},
};

// The reference implementation refuses headers above 100 MB; so do we, before allocating.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

// A tensor in the order its bytes are written.
struct Planned {
  const TensorView* view;
  size_t nbytes;
};

struct Plan {
  std::string header;  // JSON, padded with spaces to a multiple of 8
  std::vector<Planned> order;
};

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// The header's meaning, independent of its layout: every metadata entry but the header checksum
// itself, and every tensor's dtype, shape and offsets, as sorted JSON. Writer and reader hash the
// same text, so any change of a value is caught, whatever bytes encoded it.
uint64_t header_checksum(const SafetensorsMetadata& metadata, const std::vector<SafetensorsEntry>& tensors) {
  nlohmann::json canon = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : metadata)
    if (k != kHeaderChecksumKey) meta[k] = v;
  canon["metadata"] = std::move(meta);
  nlohmann::json ts = nlohmann::json::object();
  for (const auto& t : tensors)
    ts[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  canon["tensors"] = std::move(ts);
  const std::string text = canon.dump();
  return XXH3_64bits(text.data(), text.size());
}

// Checks the file's checksums when it carries them (see the header); Error naming the file and
// what does not match.
Integrity verify_checksums(const SafetensorsMetadata& metadata, const std::vector<SafetensorsEntry>& tensors,
                           const uint8_t* data, const std::string& path) {
  const auto sums_it = metadata.find(kTensorChecksumsKey);
  const auto head_it = metadata.find(kHeaderChecksumKey);
  if (sums_it == metadata.end() && head_it == metadata.end()) return Integrity::kAbsent;
  if (sums_it == metadata.end() || head_it == metadata.end())
    throw file_error(path, std::string("has \"") + (head_it == metadata.end() ? kTensorChecksumsKey : kHeaderChecksumKey) +
                               "\" but not its companion checksum: the header is damaged");
  const std::string head = hex64(header_checksum(metadata, tensors));
  if (head_it->second != head)
    throw file_error(path, "the header fails its checksum (stored " + head_it->second + ", computed " + head +
                               "): the file is damaged; restore it from a backup or an earlier checkpoint");
  nlohmann::json sums;
  try {
    sums = nlohmann::json::parse(sums_it->second);
  } catch (const nlohmann::json::exception&) {
    throw file_error(path, std::string("\"") + kTensorChecksumsKey + "\" is not JSON: the header is damaged");
  }
  if (!sums.is_object() || sums.size() != tensors.size())
    throw file_error(path, std::string("\"") + kTensorChecksumsKey + "\" does not list every tensor once");
  for (const auto& t : tensors) {
    const auto it = sums.find(t.name);
    if (it == sums.end() || !it->is_string())
      throw file_error(path, "tensor \"" + t.name + "\" has no checksum");
    const std::string got = hex64(XXH3_64bits(data + t.begin, t.end - t.begin));
    if (it->get<std::string>() != got)
      throw file_error(path, "tensor \"" + t.name + "\" fails its checksum (stored " + it->get<std::string>() +
                                 ", computed " + got + "): the file is damaged; restore it from a backup or an "
                                 "earlier checkpoint");
  }
  return Integrity::kVerified;
}

bool checked_nbytes(const std::vector<int64_t>& shape, size_t item, size_t* out) {
  uint64_t n = item;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (__builtin_mul_overflow(n, uint64_t(d), &n)) return false;
  }
  *out = size_t(n);
  return true;
}

Plan plan_file(const std::vector<TensorView>& tensors, const SafetensorsMetadata& metadata,
               const std::string& path) {
  Plan plan;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (t.name.empty()) throw file_error(path, "a tensor has an empty name");
    if (t.name == "__metadata__") throw file_error(path, "\"__metadata__\" is not a tensor name");
    if (!names.insert(t.name).second) throw file_error(path, "duplicate tensor \"" + t.name + "\"");
    size_t nbytes = 0;
    if (!checked_nbytes(t.shape, dtype_size(t.dtype), &nbytes))
      throw file_error(path, "tensor \"" + t.name + "\" has a negative or overflowing shape");
    if (nbytes > 0 && t.data == nullptr)
      throw file_error(path, "tensor \"" + t.name + "\" has no data");
    plan.order.push_back({&t, nbytes});
  }
  // Bytes: larger elements first keeps every tensor aligned to its element size; then by name.
  std::stable_sort(plan.order.begin(), plan.order.end(), [](const Planned& a, const Planned& b) {
    const size_t sa = dtype_size(a.view->dtype), sb = dtype_size(b.view->dtype);
    if (sa != sb) return sa > sb;
    return a.view->name < b.view->name;
  });
  std::map<std::string, std::pair<const Planned*, size_t>> by_name;  // name -> (tensor, begin)
  std::vector<SafetensorsEntry> entries;  // what a reader will parse, for the header checksum
  nlohmann::json tensor_sums = nlohmann::json::object();
  size_t offset = 0;
  for (const auto& p : plan.order) {
    by_name[p.view->name] = {&p, offset};
    entries.push_back({p.view->name, p.view->dtype, p.view->shape, 0, offset, offset + p.nbytes});
    tensor_sums[p.view->name] = hex64(XXH3_64bits(p.view->data, p.nbytes));
    offset += p.nbytes;
  }
  SafetensorsMetadata with_sums = metadata;
  with_sums.erase(kHeaderChecksumKey);
  with_sums[kTensorChecksumsKey] = tensor_sums.dump();
  with_sums[kHeaderChecksumKey] = hex64(header_checksum(with_sums, entries));
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : with_sums) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  for (const auto& [name, entry] : by_name) {
    const TensorView& t = *entry.first->view;
    header[name] = {{"dtype", dtype_name(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {entry.second, entry.second + entry.first->nbytes}}};
  }
  try {
    plan.header = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw file_error(path, std::string("cannot encode the header (names and metadata must be UTF-8): ") + e.what());
  }
  plan.header.append((8 - plan.header.size() % 8) % 8, ' ');
  return plan;
}

void put_u64_le(uint64_t v, char out[8]) {
  for (int i = 0; i < 8; ++i) out[i] = char((v >> (8 * i)) & 0xff);
}

// Raised inside the JSON parser callback; turned into a file_error outside it.
struct HeaderProblem {
  std::string what;
};

// Parses the header JSON rejecting duplicate keys (nlohmann would silently keep the last) and
// nesting deeper than the format allows (a bomb of brackets must not cost memory or stack).
nlohmann::json parse_header_json(const char* begin, const char* end) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::vector<bool> is_object;              // open containers
  auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    switch (ev) {
      case E::object_start:
      case E::array_start:
        // top-level object > tensor object > shape/data_offsets array: three levels at most
        if (is_object.size() >= 3) throw HeaderProblem{"header JSON is nested too deeply"};
        is_object.push_back(ev == E::object_start);
        if (ev == E::object_start) keys.emplace_back();
        break;
      case E::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
          throw HeaderProblem{"duplicate key \"" + parsed.get<std::string>() + "\" in the header"};
        break;
      case E::object_end:
      case E::array_end:
        if (!is_object.empty()) {
          if (is_object.back()) keys.pop_back();
          is_object.pop_back();
        }
        break;
      case E::value:
        break;
    }
    return true;
  };
  return nlohmann::json::parse(begin, end, cb, /*allow_exceptions=*/true);
}

uint64_t get_unsigned(const nlohmann::json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_unsigned()) throw file_error(path, what + " must be a non-negative integer");
  return v.get<uint64_t>();
}

}  // namespace

size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  throw Error("safetensors: unknown dtype value " + std::to_string(int(t)));
}

const char* dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  throw Error("safetensors: unknown dtype value " + std::to_string(int(t)));
}

bool parse_dtype(const std::string& name, DType* out) {
  for (const auto& d : kDTypes)
    if (name == d.name) {
      *out = d.type;
      return true;
    }
  return false;
}

std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const SafetensorsMetadata& metadata) {
  const Plan plan = plan_file(tensors, metadata, "<memory>");
  std::string out(8, '\0');
  put_u64_le(plan.header.size(), out.data());
  out += plan.header;
  for (const auto& p : plan.order) out.append(static_cast<const char*>(p.view->data), p.nbytes);
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const SafetensorsMetadata& metadata) {
  const Plan plan = plan_file(tensors, metadata, path);
  write_file_atomically(path, [&](const ChunkWriter& write) {
    char len[8];
    put_u64_le(plan.header.size(), len);
    write(len, 8);
    write(plan.header.data(), plan.header.size());
    for (const auto& p : plan.order)
      if (p.nbytes > 0) write(p.view->data, p.nbytes);
  });
}

// The bytes a file object reads its tensors from: a copy, or a read-only map of the file (our
// writes replace files by rename, so a mapped file's bytes never change under the reader).
class SafetensorsFile::Bytes {
 public:
  virtual ~Bytes() = default;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 protected:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

namespace {

class CopiedBytes final : public SafetensorsFile::Bytes {
 public:
  CopiedBytes(const uint8_t* bytes, size_t size) : copy_(bytes, bytes + size) {
    data_ = copy_.data();
    size_ = copy_.size();
  }

 private:
  std::vector<uint8_t> copy_;
};

class MappedBytes final : public SafetensorsFile::Bytes {
 public:
  explicit MappedBytes(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      const int err = errno;
      ::close(fd);
      throw file_error(path, S_ISDIR(st.st_mode) ? std::string("is a directory, expected a file")
                                                 : std::string("cannot read: ") + std::strerror(err));
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
      void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw file_error(path, std::string("cannot map: ") + std::strerror(err));
      }
      map_ = m;
      data_ = static_cast<const uint8_t*>(m);
    }
    ::close(fd);
  }
  ~MappedBytes() override {
    if (map_) ::munmap(map_, size_);
  }
  MappedBytes(const MappedBytes&) = delete;
  MappedBytes& operator=(const MappedBytes&) = delete;

 private:
  void* map_ = nullptr;
};

}  // namespace

SafetensorsFile parse_bytes(std::shared_ptr<const SafetensorsFile::Bytes> all, const std::string& source) {
  const std::string& path = source;
  const uint8_t* bytes = all->data();
  const size_t size = all->size();
  if (size < 8) throw file_error(path, "too short for a safetensors file (" + std::to_string(size) + " bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n == 0) throw file_error(path, "header length is 0");
  if (n > kMaxHeaderSize)
    throw file_error(path, "header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > size - 8)
    throw file_error(path, "header length " + std::to_string(n) + " runs past the end of the file (" +
                               std::to_string(size) + " bytes); truncated?");
  const char* hbegin = reinterpret_cast<const char*>(bytes + 8);
  if (hbegin[0] != '{') throw file_error(path, "header does not start with '{'");

  nlohmann::json header;
  try {
    header = parse_header_json(hbegin, hbegin + n);
  } catch (const HeaderProblem& p) {
    throw file_error(path, p.what);
  } catch (const nlohmann::json::exception& e) {
    throw file_error(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw file_error(path, "header is not a JSON object");

  SafetensorsFile file;
  file.source_ = source;
  const size_t data_size = size - 8 - size_t(n);
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw file_error(path, "__metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw file_error(path, "__metadata__ value of \"" + m.key() + "\" is not a string");
        file.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor \"" + name + "\"";
    if (name.empty()) throw file_error(path, "a tensor has an empty name");
    if (!v.is_object()) throw file_error(path, what + " is not a JSON object");
    for (auto f = v.begin(); f != v.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets")
        throw file_error(path, what + " has an unknown field \"" + f.key() + "\"");
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw file_error(path, what + " lacks dtype, shape or data_offsets");
    SafetensorsEntry e;
    e.name = name;
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), &e.dtype))
      throw file_error(path, what + " has an unknown dtype " + v["dtype"].dump());
    if (!v["shape"].is_array()) throw file_error(path, what + ": shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      const uint64_t dim = get_unsigned(d, path, what + ": shape entry");
      if (dim > uint64_t(INT64_MAX) || __builtin_mul_overflow(numel, dim, &numel))
        throw file_error(path, what + ": shape overflows");
      e.shape.push_back(int64_t(dim));
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, uint64_t(dtype_size(e.dtype)), &nbytes) || numel > uint64_t(INT64_MAX))
      throw file_error(path, what + ": shape overflows");
    e.numel = int64_t(numel);
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2)
      throw file_error(path, what + ": data_offsets is not a pair [begin, end]");
    const uint64_t b = get_unsigned(off[0], path, what + ": data_offsets begin");
    const uint64_t en = get_unsigned(off[1], path, what + ": data_offsets end");
    if (b > en) throw file_error(path, what + ": data_offsets begin " + std::to_string(b) + " > end " + std::to_string(en));
    if (en > data_size)
      throw file_error(path, what + ": data_offsets end " + std::to_string(en) + " is past the data (" +
                                 std::to_string(data_size) + " bytes); truncated?");
    if (en - b != nbytes)
      throw file_error(path, what + ": data_offsets span " + std::to_string(en - b) + " bytes but shape x " +
                                 dtype_name(e.dtype) + " needs " + std::to_string(nbytes));
    e.begin = size_t(b);
    e.end = size_t(en);
    file.tensors_.push_back(std::move(e));
  }
  // The buffer must be covered exactly: no overlaps, no holes, nothing trailing.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : file.tensors_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t covered = 0;
  for (const auto* e : by_offset) {
    if (e->begin < covered)
      throw file_error(path, "tensor \"" + e->name + "\" overlaps the tensor before it");
    if (e->begin > covered)
      throw file_error(path, "hole in the data before tensor \"" + e->name + "\" (bytes " +
                                 std::to_string(covered) + ".." + std::to_string(e->begin) + ")");
    covered = e->end;
  }
  if (covered != data_size)
    throw file_error(path, std::to_string(data_size - covered) + " bytes after the last tensor are not indexed");
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.name < b.name; });
  file.data_ = bytes + 8 + n;
  file.integrity_ = verify_checksums(file.metadata_, file.tensors_, file.data_, path);
  file.bytes_ = std::move(all);
  return file;
}

SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source) {
  if (bytes == nullptr && size > 0) throw file_error(source, "no data");
  static const uint8_t kEmpty = 0;
  return parse_bytes(std::make_shared<const CopiedBytes>(bytes ? bytes : &kEmpty, size), source);
}

SafetensorsFile read_safetensors(const std::string& path) {
  return parse_bytes(std::make_shared<const MappedBytes>(path), path);
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const SafetensorsEntry& SafetensorsFile::at(const std::string& name) const {
  if (const auto* e = find(name)) return *e;
  throw file_error(source_, "no tensor named \"" + name + "\"");
}

const uint8_t* SafetensorsFile::data(const SafetensorsEntry& e) const { return data_ + e.begin; }

std::vector<float> SafetensorsFile::to_f32(const std::string& name) const {
  const SafetensorsEntry& e = at(name);
  if (e.dtype != DType::kF32)
    throw file_error(source_, "tensor \"" + name + "\" is " + dtype_name(e.dtype) + ", expected F32");
  std::vector<float> out(size_t(e.numel));
  if (!out.empty()) std::memcpy(out.data(), data(e), out.size() * sizeof(float));
  return out;
}

}  // namespace souplab
