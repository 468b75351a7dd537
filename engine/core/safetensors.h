#pragma once
// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of JSON {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}},
// then the tensor bytes. Offsets are relative to the end of the header and must index the
// data buffer completely and without holes or overlaps (no polyglot files).
// The reader is strict and never trusts the file: every malformed input is an Error that names
// the file and the problem, never a crash (it is fuzzed through parse_safetensors).
//
// Integrity (docs/DESIGN.md "Files"): every file SoupLab writes carries two metadata entries,
// "souplab.xxh3" (a JSON object: tensor name -> XXH3-64 of its bytes, 16 hex digits) and
// "souplab.header_xxh3" (XXH3-64 of the header's canonical form: every other metadata entry and
// every tensor's dtype, shape and offsets). The reader checks both when they are present, so a
// flipped bit anywhere in the file is refused with an Error naming the file and the tensor (or
// the header) instead of loading as a different model; files without them (older SoupLab, other
// tools) still load, and say so through integrity().
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace souplab {

enum class DType { kBool, kU8, kI8, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64 };

size_t dtype_size(DType t);             // bytes per element
const char* dtype_name(DType t);        // "F32", ...
bool parse_dtype(const std::string& name, DType* out);  // false for an unknown name

using SafetensorsMetadata = std::map<std::string, std::string>;

// One tensor to write; `data` holds numel(shape) * dtype_size(dtype) bytes in host order
// (little-endian hosts only, checked at compile time).
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};

// Writes atomically (temporary file, fsync, rename). The header JSON lists "__metadata__"
// first (when non-empty), then the tensors sorted by name; the data follow in the same order,
// larger element sizes first so that every tensor stays naturally aligned (for an all-F32 file
// this is plain name order). The header is padded with spaces so the data start at a multiple
// of 8. Throws Error naming `path` for duplicate/empty names, a null data pointer, or I/O.
void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const SafetensorsMetadata& metadata = {});

// The encoded bytes of such a file, for tests and in-memory use.
std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const SafetensorsMetadata& metadata = {});

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  size_t begin = 0;  // byte offsets into the data buffer (after the header)
  size_t end = 0;
};

inline constexpr const char* kTensorChecksumsKey = "souplab.xxh3";
inline constexpr const char* kHeaderChecksumKey = "souplab.header_xxh3";

enum class Integrity {
  kVerified,  // both checksums present and matching
  kAbsent,    // the file carries no checksums: loaded as it is, unverified
};

// A parsed, fully validated file. Owns its bytes: a read-only memory map of the file
// (read_safetensors) or a copy (parse_safetensors), shared by copies of the object.
class SafetensorsFile {
 public:
  const std::string& source() const { return source_; }
  const SafetensorsMetadata& metadata() const { return metadata_; }
  const std::vector<SafetensorsEntry>& tensors() const { return tensors_; }  // sorted by name
  const SafetensorsEntry* find(const std::string& name) const;  // nullptr if absent
  const SafetensorsEntry& at(const std::string& name) const;    // Error naming file and tensor
  const uint8_t* data(const SafetensorsEntry& e) const;         // e.end - e.begin bytes
  // The tensor as float32 values; Error unless its dtype is F32.
  std::vector<float> to_f32(const std::string& name) const;
  Integrity integrity() const { return integrity_; }

  class Bytes;  // the whole file's bytes (mapped or copied)

 private:
  friend SafetensorsFile parse_bytes(std::shared_ptr<const Bytes>, const std::string&);
  std::string source_;
  std::shared_ptr<const Bytes> bytes_;
  const uint8_t* data_ = nullptr;  // the data buffer (after the header) inside bytes_
  SafetensorsMetadata metadata_;
  std::vector<SafetensorsEntry> tensors_;
  Integrity integrity_ = Integrity::kAbsent;
};

// Parses (a copy of) bytes in memory; `source` names them in error messages (a path or
// "<memory>"). Checks the checksums when the file has them.
SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& source);

// Maps and parses a file (the tensors are read from the map, never copied whole); Error
// "<path>: <problem>" for any I/O, format or checksum problem.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace souplab
