#!/usr/bin/env python3
"""The size ladder's table (and, with matplotlib, its plot) from bench_specialists' JSON reports.

  python3 bench/ladder_report.py [--plot OUT.png] [--point LABEL:PARAMS:TOKENS:GAP ...] LABEL:PARAMS:TOKENS=report.json ...

LABEL names the row ("L4 C128"), PARAMS is the specialist's parameter count, TOKENS the training
tokens; each report holds a "dense" model and soup variants (bench/run_ladder.sh writes them).
Per variant: the mean relative loss difference against the dense model of the same report (in %,
negative = the specialists are better) on held-out mixtures, one-hot domains, held-out targets
with histogram and fitted h, and the dense model's absolute loss on the targets. With --plot,
the histogram-h gap on the held-out targets against parameters and against tokens per parameter
(docs/RESULTS.md); --point adds a gap measured earlier whose JSON is not at hand (plotted hollow).
"""
import argparse
import json


def rel(a, b):
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None and y > 0]
    return 100.0 * sum((x - y) / y for x, y in pairs) / len(pairs) if pairs else float("nan")


def mean(v):
    v = [x for x in v if x is not None]
    return sum(v) / len(v) if v else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plot")
    ap.add_argument("--point", action="append", default=[])
    ap.add_argument("reports", nargs="+")
    a = ap.parse_args()
    rows = []
    print("| size | parameters | tokens per parameter | variant | mixtures | one-hot | targets, histogram h | "
          "targets, fitted h | soup at uniform h | dense on targets (nats/byte) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in a.reports:
        head, path = spec.split("=", 1)
        label, params, tokens = head.split(":")
        params, tokens = float(params), float(tokens)
        models = json.load(open(path))["models"]
        dense = models["dense"]
        for name, m in models.items():
            if name == "dense":
                continue
            r = {k: rel(m[k], dense[k]) for k in ("mixtures", "onehot", "target_hist", "target_fit", "uniform")}
            rows.append((label, params, tokens / params, name, r))
            print(f"| {label} | {params / 1e6:.2f} M | {tokens / params:.0f} | {name} | {r['mixtures']:+.2f} % | "
                  f"{r['onehot']:+.2f} % | {r['target_hist']:+.2f} % | {r['target_fit']:+.2f} % | "
                  f"{r['uniform']:+.2f} % | {mean(dense['target_hist']):.4f} |")
    if a.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for variant in sorted({r[3] for r in rows}):
            pts = sorted((p, t, r["target_hist"]) for (_, p, t, v, r) in rows if v == variant)
            for ax, x in zip(axes, (0, 1)):
                ax.plot([q[x] for q in pts], [q[2] for q in pts], "o", label=variant)
        for spec in a.point:
            label, params, tokens, gap = spec.split(":")
            params, tokens, gap = float(params), float(tokens), float(gap)
            for ax, x in zip(axes, (params, tokens / params)):
                ax.plot([x], [gap], "o", mfc="none", color="black")
                ax.annotate(label, (x, gap), fontsize=7, xytext=(4, 4), textcoords="offset points")
        for (label, p, t, v, r) in rows:
            for ax, x in zip(axes, (p, t)):
                ax.annotate(label, (x, r["target_hist"]), fontsize=7, xytext=(4, -10), textcoords="offset points")
        for ax, xl in zip(axes, ("specialist parameters", "training tokens per parameter")):
            ax.set_xscale("log")
            ax.axhline(0, color="grey", lw=0.8)
            ax.axhline(-3, color="grey", lw=0.8, ls="--")
            ax.set_xlabel(xl)
            ax.set_ylabel("soup vs dense, held-out targets, histogram h (%)")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=110)


if __name__ == "__main__":
    main()
