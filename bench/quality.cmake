# docs/DESIGN.md §4.3 quality benchmark: soup specialists vs generic, oracle and merged dense models on the
# real corpus. Included from bench/CMakeLists.txt (uses its souplab_add_bench helper).
souplab_add_bench(bench_quality bench_quality.cpp)
# The quality issue's benchmark: soup variants against the equal-budget dense model on the
# 14-domain corpus with held-out sources (mixtures, one-hot domains, held-out target texts).
souplab_add_bench(bench_specialists bench_specialists.cpp)
