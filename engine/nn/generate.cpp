// Sampling text from a specialist, streamed piece by piece.
#include <algorithm>

#include "souplab/error.h"
#include "souplab/specialist.h"
#include "engine/nn/gpt.h"
#include "engine/nn/runner.h"

namespace souplab {
namespace {

// Length of the longest prefix of `bytes` that ends on a whole UTF-8 character, so a streamed
// piece never splits a character. Invalid sequences are passed through as they are.
size_t complete_utf8_prefix(const std::string& bytes) {
  const size_t n = bytes.size();
  for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
    const unsigned char c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return back >= need ? n : n - back;
  }
  return n;
}

}  // namespace

std::string Specialist::generate(const std::string& prompt, const SampleOptions& options,
                                 const std::function<bool(const std::string&)>& on_piece) const {
  const detail::Runner& impl = *runner_;
  if (options.max_new_tokens < 0) throw Error("generate: max_new_tokens must be >= 0");
  if (options.top_k < 0) throw Error("generate: top_k must be >= 0");
  // InferenceMode rather than NoGradGuard: no autograd bookkeeping (version counters, view
  // tracking) on the few dozen small ops of each new token, which bound the speed at these sizes.
  c10::InferenceMode inference;
  const ModelConfig& c = impl.config();
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(options.seed);
  std::vector<int64_t> tokens(prompt.begin(), prompt.end());
  for (auto& t : tokens) t &= 0xFF;  // bytes are tokens
  if (tokens.empty()) tokens.push_back('\n');
  std::string out, pending;
  // Learned positions stop at block_size: when the cache is full, restart it from the last
  // half context, so each restart is paid once per block_size / 2 new tokens.
  KVCache cache;
  std::vector<int64_t> fresh = tokens;  // tokens not yet in the cache
  const auto device = impl.device();
  for (int i = 0; i < options.max_new_tokens; ++i) {
    if (cache.length + int64_t(fresh.size()) > c.block_size) {
      const size_t keep = std::max<size_t>(1, size_t(c.block_size) / 2);
      fresh.assign(tokens.end() - int64_t(std::min(keep, tokens.size())), tokens.end());
      cache = KVCache();
    }
    auto idx = torch::tensor(fresh, torch::kInt64).view({1, int64_t(fresh.size())}).to(device);
    auto logits = impl.forward(idx, &cache)
                      .select(1, int64_t(fresh.size()) - 1)
                      .squeeze(0)
                      .to(torch::kCPU)
                      .to(torch::kFloat64);  // (V)
    fresh.clear();
    int64_t next;
    if (options.temperature <= 0) {
      next = logits.argmax().item<int64_t>();
    } else {
      logits = logits / options.temperature;
      if (options.top_k > 0 && options.top_k < logits.size(0)) {
        auto kth = std::get<0>(logits.topk(options.top_k)).min();
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<double>::infinity());
      }
      next = torch::multinomial(logits.softmax(0), 1, false, gen).item<int64_t>();
    }
    tokens.push_back(next);
    fresh.push_back(next);
    pending.push_back(char(next));
    const size_t whole = complete_utf8_prefix(pending);
    if (whole > 0) {
      const std::string piece = pending.substr(0, whole);
      pending.erase(0, whole);
      out += piece;
      if (on_piece && !on_piece(piece)) return out;
    }
  }
  out += pending;
  if (!pending.empty() && on_piece) on_piece(pending);
  return out;
}

}  // namespace souplab
