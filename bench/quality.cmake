# DESIGN §4 quality benchmark: soup specialists vs generic, oracle and merged dense models on the
# real corpus. Included from bench/CMakeLists.txt (uses its souplab_add_bench helper).
souplab_add_bench(bench_quality bench_quality.cpp)
