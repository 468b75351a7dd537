#pragma once
// SOUPLAB_SIMD_CLONES before a function: GCC builds it twice, for AVX2 (8 floats per instruction)
// and for the baseline x86-64 (SSE2, 4), and the loader picks one by the CPU's features
// (target_clones), so one binary runs everywhere and streams at the wider width where it can.
// No FMA in the AVX2 clone: both clones do the same IEEE operations per element, so results do
// not depend on the machine. Used by the bank's memory-bound loops (AdamW's, instantiation's).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SOUPLAB_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SOUPLAB_SIMD_CLONES
#endif
