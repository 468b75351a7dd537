#pragma once
// Row-major float32 GEMM on the CPU through oneDNN's dnnl_sgemm, where the build has it
// (docs/DESIGN.md §2.7). Debian's libtorch 1.13 links libdnnl itself but multiplies matrices
// with the system BLAS (OpenBLAS), which at the GPT's shapes (4096 x 64 times 64 x 256, small
// inner dimension) measured 27-35 GFLOP/s on one or two cores against oneDNN's 91-93 on one
// and 137-171 on two (bench_kernels prints both). Builds whose libtorch brings its own fast
// GEMM (the PyPI wheel's MKL) leave this off and use libtorch's. Torch-free header.
#include <cstdint>

namespace souplab {

// Whether cpu_sgemm runs (a build with oneDNN), and whether the engine uses it (on by default;
// bench/ switches it off to measure libtorch's own GEMM in the same process).
bool cpu_sgemm_available();
bool cpu_sgemm_enabled();
void set_cpu_sgemm_enabled(bool on);

// C = alpha op(A) op(B) + beta C, every matrix row-major with its leading dimension (the
// floats between two rows); op(X) is X, or its transpose when the flag is 'T'. op(A) is M x K,
// op(B) K x N, C M x N. Threads: the OpenMP threads libtorch is set to. Throws Error when the
// build has no oneDNN (check cpu_sgemm_available first) or oneDNN refuses the arguments.
void cpu_sgemm(char trans_a, char trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace souplab
