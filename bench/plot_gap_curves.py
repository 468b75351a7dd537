#!/usr/bin/env python3
"""Plots the specialist-vs-dense gap over training steps from bench_specialists --curve-every
results (one JSON per model size) into one PNG for docs/RESULTS.md.

  python3 bench/plot_gap_curves.py OUT.png LABEL=results.json [LABEL=results.json ...]

Each curve point compares a soup variant's intermediate checkpoint with the dense model's
checkpoint of the same step (same run schedule, same seed): mean relative loss difference in %,
negative = the specialists are better. Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rel(a, b):
    return 100.0 * sum((x - y) / y for x, y in zip(a, b)) / len(a)


def main():
    out, inputs = sys.argv[1], [arg.split("=", 1) for arg in sys.argv[2:]]
    panels = [("mixtures", "held-out mixtures"), ("onehot", "one-hot domains"),
              ("target_hist", "held-out targets (histogram h)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.8), sharey=False)
    for label, path in inputs:
        curve = json.load(open(path))["curve"]
        dense = curve["dense"]
        for variant, points in curve.items():
            if variant == "dense":
                continue
            steps = sorted(int(s) for s in points if s in dense)
            for ax, (key, title) in zip(axes, panels):
                ax.plot(steps, [rel(points[str(s)][key], dense[str(s)][key]) for s in steps],
                        marker="o", label=f"{label} {variant}")
    for ax, (_, title) in zip(axes, panels):
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("specialist vs equal-budget dense (%, lower is better)")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
