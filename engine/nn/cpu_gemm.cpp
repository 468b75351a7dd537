#include "engine/nn/cpu_gemm.h"

#include <atomic>
#include <string>

#include "souplab/error.h"

#if defined(SOUPLAB_WITH_DNNL)
#include <oneapi/dnnl/dnnl.h>
#endif

namespace souplab {
namespace {
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> on{true};
  return on;
}
}  // namespace

bool cpu_sgemm_available() {
#if defined(SOUPLAB_WITH_DNNL)
  return true;
#else
  return false;
#endif
}

bool cpu_sgemm_enabled() { return cpu_sgemm_available() && enabled_flag().load(std::memory_order_relaxed); }
void set_cpu_sgemm_enabled(bool on) { enabled_flag() = on; }

void cpu_sgemm(char trans_a, char trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#if defined(SOUPLAB_WITH_DNNL)
  const dnnl_status_t st = dnnl_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success)
    throw Error("oneDNN sgemm failed (status " + std::to_string(int(st)) + ") for " + std::to_string(M) + " x " +
                std::to_string(K) + " times " + std::to_string(K) + " x " + std::to_string(N));
#else
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb,
      (void)beta, (void)C, (void)ldc;
  throw Error("cpu_sgemm: this build has no oneDNN");
#endif
}

}  // namespace souplab
