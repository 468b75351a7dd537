#!/usr/bin/env python3
"""The size ladder's table (and, with matplotlib, its plot) from bench_specialists' JSON reports.

  python3 bench/ladder_report.py [--plot OUT.png] LABEL:PARAMS:TOKENS=report.json ...

LABEL names the row ("L4 C128"), PARAMS is the specialist's parameter count, TOKENS the training
tokens; each report holds a "dense" model and soup variants (bench/run_ladder.sh writes them).
Per variant: the mean relative loss difference against the dense model of the same report (in %,
negative = the specialists are better) on held-out mixtures, one-hot domains, held-out targets
with histogram and fitted h, and the dense model's absolute loss on the targets. With --plot,
the fitted-h gap against parameters and against tokens per parameter (docs/RESULTS.md).
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
            pts = sorted((p, t, r["target_fit"]) for (_, p, t, v, r) in rows if v == variant)
            axes[0].plot([p for p, _, _ in pts], [g for _, _, g in pts], "o-", label=variant)
            axes[1].plot([t for _, t, _ in pts], [g for _, _, g in pts], "o", label=variant)
        for ax, xl in zip(axes, ("specialist parameters", "training tokens per parameter")):
            ax.set_xscale("log")
            ax.axhline(0, color="grey", lw=0.8)
            ax.axhline(-3, color="grey", lw=0.8, ls="--")
            ax.set_xlabel(xl)
            ax.set_ylabel("fitted-h specialist vs dense on held-out targets (%)")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=110)


if __name__ == "__main__":
    main()
