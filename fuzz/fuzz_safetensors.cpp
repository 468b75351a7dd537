// libFuzzer target: the safetensors reader (parse_safetensors). Any input must either parse into
// a file whose every tensor lies inside the data buffer, or throw souplab::Error; a parsed file
// must survive a write/read round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "souplab/error.h"
#include "engine/core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  try {
    const SafetensorsFile f = parse_safetensors(data, size, "<fuzz>");
    std::vector<TensorView> views;
    for (const SafetensorsEntry& e : f.tensors()) {
      if (e.end < e.begin || e.end - e.begin != size_t(e.numel) * dtype_size(e.dtype)) std::abort();
      const uint8_t* p = f.data(e);
      volatile uint8_t sink = 0;
      for (size_t i = e.begin; i < e.end; ++i) sink ^= p[i - e.begin];  // every byte readable
      if (e.dtype == DType::kF32) (void)f.to_f32(e.name);
      if (f.find(e.name) != &e) std::abort();
      views.push_back({e.name, e.dtype, e.shape, p});
    }
    // Round trip: what we read, we can write, and read back the same.
    const std::string bytes = encode_safetensors(views, f.metadata());
    const SafetensorsFile g =
        parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "<again>");
    // The writer (re)computes the checksums: what it wrote verifies, and the rest is unchanged.
    if (g.integrity() != Integrity::kVerified) std::abort();
    auto without_sums = [](SafetensorsMetadata m) {
      m.erase(kTensorChecksumsKey);
      m.erase(kHeaderChecksumKey);
      return m;
    };
    if (without_sums(g.metadata()) != without_sums(f.metadata()) || g.tensors().size() != f.tensors().size())
      std::abort();
    for (size_t i = 0; i < g.tensors().size(); ++i) {
      const SafetensorsEntry &a = f.tensors()[i], &b = g.tensors()[i];
      if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape) std::abort();
      if (a.end > a.begin && std::memcmp(f.data(a), g.data(b), a.end - a.begin) != 0) std::abort();
    }
  } catch (const Error&) {
    // Rejected with a message: the expected outcome for bad input.
  }
  return 0;
}
