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
  return generate_samples(prompt, options, 1,
                          on_piece ? std::function<bool(int, const std::string&)>(
                                         [&](int, const std::string& piece) { return on_piece(piece); })
                                   : std::function<bool(int, const std::string&)>())
      .front();
}

std::vector<std::string> Specialist::generate_samples(
    const std::string& prompt, const SampleOptions& options, int n,
    const std::function<bool(int, const std::string&)>& on_piece) const {
  const detail::Runner& impl = *runner_;
  if (options.max_new_tokens < 0) throw Error("generate: max_new_tokens must be >= 0");
  if (options.top_k < 0) throw Error("generate: top_k must be >= 0");
  if (n < 1 || n > 4096) throw Error("generate: the number of samples must be in 1..4096, got " + std::to_string(n));
  {  // every row keeps keys and values for the whole context in every layer
    const ModelConfig& m = impl.config();
    const double cache_gib = double(n) * m.n_layer * 2.0 * m.block_size * m.n_embd * 4.0 / (1 << 30);
    if (cache_gib > 8)
      throw Error("generate: " + std::to_string(n) + " samples need " + std::to_string(int(cache_gib)) +
                  " GiB of key/value cache at this model's size; ask for fewer");
  }
  // InferenceMode rather than NoGradGuard: no autograd bookkeeping (version counters, view
  // tracking) on the few dozen small ops of each new token, which bound the speed at these sizes.
  c10::InferenceMode inference;
  const ModelConfig& c = impl.config();
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(options.seed);
  std::vector<int64_t> tokens(prompt.begin(), prompt.end());
  for (auto& t : tokens) t &= 0xFF;  // bytes are tokens
  if (tokens.empty()) tokens.push_back('\n');
  // Every sample continues the same prompt, so all rows always hold the same number of tokens
  // and share one cache length: one batched forward per new byte serves all n samples.
  const int64_t prompt_len = int64_t(tokens.size());
  auto history = torch::tensor(tokens, torch::kInt64).view({1, prompt_len}).repeat({n, 1});  // (n, L)
  std::vector<std::string> out(n), pending(n);
  // The next token's logits (n, V) as float64 after the tokens `fresh` (n, f), through the
  // plain-loop CPU decoder where it applies (a dense float32 model on the CPU: per-op dispatch
  // is most of a token's cost there, cpu_decoder.h), else the runner's forward with a KV cache.
  const std::unique_ptr<CpuDecoder> decoder = impl.cpu_decoder(n, options.f16_weights);
  if (options.f16_weights && !decoder)
    throw Error("generate: f16 weights are for a dense float32 specialist on the CPU (this one runs on " +
                impl.device().str() + ", or is not one dense model)");
  KVCache cache;
  const auto cached = [&] { return decoder ? decoder->length() : cache.length; };
  const auto advance = [&](const torch::Tensor& fresh) {
    if (!decoder)
      return impl.forward(fresh.to(impl.device()), &cache).select(1, fresh.size(1) - 1).to(torch::kCPU).to(torch::kFloat64);
    const auto columns = fresh.t().contiguous();  // (f, n): one step per position
    const float* logits = nullptr;
    for (int64_t j = 0; j < columns.size(0); ++j) logits = decoder->step(columns[j].data_ptr<int64_t>());
    return torch::from_blob(const_cast<float*>(logits), {n, decoder->vocab()}, torch::kFloat32).to(torch::kFloat64);
  };
  // Learned positions stop at block_size: when the cache is full, restart it from the last
  // half context, so each restart is paid once per block_size / 2 new tokens.
  torch::Tensor fresh = history;  // (n, f): tokens not yet in the cache
  const auto emit = [&](int row, const std::string& piece) {
    out[row] += piece;
    return !on_piece || on_piece(row, piece);
  };
  for (int i = 0; i < options.max_new_tokens; ++i) {
    if (cached() + fresh.size(1) > c.block_size) {
      const int64_t keep = std::min<int64_t>(std::max(1, c.block_size / 2), history.size(1));
      fresh = history.narrow(1, history.size(1) - keep, keep);
      cache = KVCache();
      if (decoder) decoder->reset();
    }
    auto logits = advance(fresh);  // (n, V)
    torch::Tensor next;            // (n, 1)
    if (options.temperature <= 0) {
      next = logits.argmax(1, /*keepdim=*/true);
    } else {
      logits = logits / options.temperature;
      if (options.top_k > 0 && options.top_k < logits.size(1)) {
        auto kth = std::get<0>(logits.topk(options.top_k, 1)).amin(1, /*keepdim=*/true);
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<double>::infinity());
      }
      next = torch::multinomial(logits.softmax(1), 1, false, gen);
    }
    history = torch::cat({history, next}, 1);
    fresh = next;
    const auto* bytes = next.data_ptr<int64_t>();
    for (int row = 0; row < n; ++row) {
      std::string& p = pending[row];
      p.push_back(char(bytes[row]));
      const size_t whole = complete_utf8_prefix(p);
      if (whole == 0) continue;
      const std::string piece = p.substr(0, whole);
      p.erase(0, whole);
      if (!emit(row, piece)) return out;
    }
  }
  for (int row = 0; row < n; ++row)
    if (!pending[row].empty() && !emit(row, pending[row])) break;
  return out;
}

}  // namespace souplab
