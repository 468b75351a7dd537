#pragma once
// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of JSON {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}},
// then the tensor bytes. Offsets are relative to the end of the header and must index the
// data buffer completely and without holes or overlaps (no polyglot files).
// The reader is strict and never trusts the file: every malformed input is an Error that names
// the file and the problem, never a crash (it is fuzzed through parse_safetensors).
#include <cstddef>
#include <cstdint>
#include <map>
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

// A parsed, fully validated file; owns a copy of the bytes.
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

 private:
  friend SafetensorsFile parse_safetensors(const uint8_t*, size_t, const std::string&);
  std::string source_;
  std::vector<uint8_t> data_;  // the data buffer only (header stripped)
  SafetensorsMetadata metadata_;
  std::vector<SafetensorsEntry> tensors_;
};

// Parses bytes in memory; `source` names them in error messages (a path or "<memory>").
SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& source);

// Reads and parses a file; Error "<path>: <problem>" for any I/O or format problem.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace souplab
