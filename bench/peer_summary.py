#!/usr/bin/env python3
"""One table across sizes from bench_peer's summary comments (bench/run_peers.sh): souplab's
dense and soup steps against the fastest Python PyTorch of each, the soup's cost over the dense
step on both sides, and the share of the machine's GEMM peak."""
import re
import sys

rows = {}
for line in open(sys.argv[1]):
    m = re.match(r'<!-- summary (L\d+ C\d+) H\d+ T\d+ (dense|soup) (.*) -->', line.strip())
    if not m:
        continue
    fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', m.group(3)))
    rows.setdefault(m.group(1), {})[m.group(2)] = {k: v.strip('"') for k, v in fields.items()}

print("### Across sizes: souplab against the fastest PyTorch 2.x from Python (tokens/s, medians)\n")
print("| size | souplab dense | fastest Python dense | souplab / Python | souplab soup | fastest Python soup "
      "| souplab / Python | soup / dense step time, souplab | soup / dense, Python | souplab dense, share of peak |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for size, r in rows.items():
    d, s = r.get("dense"), r.get("soup")
    if not d or not s:
        continue
    f = lambda x, k: float(x[k])
    print("| %s | %.0f | %.0f (%s) | %.2fx | %.0f | %.0f (%s) | %.2fx | %.2fx | %.2fx | %.0f %% of %.0f GFLOP/s |" % (
        size, f(d, "souplab_tok_s"), f(d, "best_python_tok_s"), d["best_python"].replace("PyPI PyTorch, ", ""),
        f(d, "souplab_tok_s") / f(d, "best_python_tok_s"), f(s, "souplab_tok_s"), f(s, "best_python_tok_s"),
        s["best_python"].replace("PyPI PyTorch, ", ""), f(s, "souplab_tok_s") / f(s, "best_python_tok_s"),
        f(d, "souplab_tok_s") / f(s, "souplab_tok_s"), f(d, "best_python_tok_s") / f(s, "best_python_tok_s"),
        100 * f(d, "souplab_share"), f(d, "peak_gflops")))
print()
