// libFuzzer target: the corpus cache's manifest reader. Each input is written as manifest.json
// into a scratch cache folder holding two small token files per domain "a" and "b" (so valid
// manifests reach the memory-mapping code), then opened with TokenCache::open_cache.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "souplab/corpus.h"
#include "souplab/error.h"

namespace {

std::string g_dir;

void put(const std::string& name, const std::string& bytes) {
  FILE* f = std::fopen((g_dir + "/" + name).c_str(), "wb");
  if (!f) std::abort();
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/souplab-fuzz-manifest-XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  g_dir = tmpl;
  put("a.train.bin", std::string(300, 'a'));
  put("a.val.bin", std::string(40, 'a'));
  put("b.train.bin", std::string(300, 'b'));
  put("b.val.bin", std::string(40, 'b'));
  std::atexit([] { std::system(("rm -rf '" + g_dir + "'").c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace souplab;
  put("manifest.json", std::string(reinterpret_cast<const char*>(data), size));
  try {
    auto cache = TokenCache::open_cache(g_dir);
    if (cache->num_domains() < 2) std::abort();
    for (size_t d = 0; d < cache->num_domains(); ++d) {
      const DomainInfo& info = cache->domains()[d];
      volatile uint8_t sink = 0;
      const uint8_t* t = cache->train_tokens(d);
      for (uint64_t i = 0; i < info.train_tokens; ++i) sink ^= t[i];  // mapped as announced
      const uint8_t* v = cache->val_tokens(d);
      for (uint64_t i = 0; i < info.val_tokens; ++i) sink ^= v[i];
    }
  } catch (const Error&) {
  }
  return 0;
}
