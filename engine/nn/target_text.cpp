#include "engine/nn/target_text.h"

#include <algorithm>

#include "souplab/error.h"
#include "engine/core/raw_documents.h"

namespace souplab {

std::string read_target_text(const std::string& target, uint64_t max_bytes, int64_t min_bytes) {
  const RawDocuments raw = read_raw_documents(target, max_bytes);
  std::string bytes;
  for (const auto& d : raw.docs) bytes.append(raw.buffer, size_t(d.offset), size_t(d.size)) += '\f';
  if (int64_t(bytes.size()) < min_bytes)
    throw file_error(target, "holds " + std::to_string(bytes.size()) + " bytes; at least " +
                                 std::to_string(min_bytes) + " are needed");
  return bytes;
}

TargetWindows target_windows(const std::string& target, int64_t block_size, int64_t W) {
  const std::string bytes = read_target_text(target, 64 << 20, 9);
  const int64_t L = int64_t(bytes.size());
  const int64_t T = std::min<int64_t>(block_size, L - 1);
  return {spread_windows(bytes, 0, L, T, std::max<int64_t>(1, W)), T};
}

torch::Tensor spread_windows(const std::string& bytes, int64_t begin, int64_t end, int64_t T, int64_t W) {
  const int64_t L = end - begin;
  TORCH_CHECK(L >= T + 1 && T >= 1, "spread_windows: ", L, " bytes hold no window of ", T + 1);
  W = std::max<int64_t>(1, std::min<int64_t>(W, (L - 1) / T));
  auto windows = torch::empty({W, T + 1}, torch::kInt64);
  auto acc = windows.accessor<int64_t, 2>();
  for (int64_t i = 0; i < W; ++i) {
    const int64_t start = begin + (W == 1 ? 0 : i * (L - T - 1) / (W - 1));
    for (int64_t t = 0; t <= T; ++t) acc[i][t] = int64_t(uint8_t(bytes[size_t(start + t)]));
  }
  return windows;
}

}  // namespace souplab
