#!/usr/bin/env python3
"""The specialist-vs-dense gap across seeds, by model size and training steps: a Markdown table
(stdout) and a PNG (mean over seeds, one line per size, a bar of +-1 standard deviation).

  python3 bench/seed_gaps.py SPEC.json [OUT.png]

SPEC: {"L2 C64": {"3000": {"files": ["W/L2C64s3000.json"], "soups": ["soup", "soup-seed7", ...]}}}
Every soup named (a model of the bench_specialists JSON files) is compared with the dense model
of its own seed ("dense" for the base seed 1337, else "dense-seed<S>"), over the same held-out
items: mean relative loss difference in %, negative = the specialists are better.
Needs matplotlib for the PNG (Debian: python3-matplotlib).
"""
import json
import statistics
import sys

METRICS = [("mixtures", "held-out mixtures"), ("onehot", "one-hot domains"),
           ("target_hist", "held-out targets (histogram h)")]


def rel(a, b):
    return 100.0 * sum((x - y) / y for x, y in zip(a, b)) / len(a)


def gaps(point):
    models = {}
    for path in point["files"]:
        models.update(json.load(open(path))["models"])
    out = []
    for soup in point["soups"]:
        seed = models[soup].get("config", {}).get("train", {}).get("seed", 1337)
        dense = models["dense" if seed == 1337 else "dense-seed%d" % seed]
        out.append((seed, {k: rel(models[soup][k], dense[k]) for k, _ in METRICS},
                    {k: sum(dense[k]) / len(dense[k]) for k, _ in METRICS}))
    return out


def main():
    spec = json.load(open(sys.argv[1]))
    rows, curves = [], {}
    print("| size | steps | seeds | " + " | ".join(t for _, t in METRICS) + " | dense loss (mixtures) |")
    print("|---|---|---|" + "---|" * len(METRICS) + "---|")
    for size, points in spec.items():
        for steps, point in sorted(points.items(), key=lambda kv: int(kv[0])):
            g = gaps(point)
            cells = []
            for k, _ in METRICS:
                vals = [x[1][k] for x in g]
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                cells.append("%+.2f %% (sd %.2f; %s)" % (statistics.mean(vals), sd,
                                                          " / ".join("%+.2f" % v for v in vals)))
                curves.setdefault(size, {}).setdefault(k, []).append((int(steps), statistics.mean(vals), sd))
            dense_loss = statistics.mean(x[2]["mixtures"] for x in g)
            print("| %s | %s | %s | %s | %.4f |" % (size, steps, ", ".join(str(x[0]) for x in g),
                                                   " | ".join(cells), dense_loss))
    if len(sys.argv) > 2:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(METRICS), figsize=(13, 3.8))
        for ax, (k, title) in zip(axes, METRICS):
            for size, by_metric in curves.items():
                pts = sorted(by_metric[k])
                ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                            marker="o", capsize=3, label=size)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_title(title)
            ax.set_xlabel("training steps (batch 16 x 256 bytes)")
            ax.set_ylabel("specialist vs equal-budget dense, %")
            ax.grid(alpha=0.3)
        axes[0].legend()
        fig.suptitle("Mean over seeds (bars: +-1 sd); negative = specialists better")
        fig.tight_layout()
        fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
