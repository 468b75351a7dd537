#!/usr/bin/env python3
"""Clusters against labels on the held-out targets (docs/RESULTS.md "Clustered domains"): the
absolute target losses of banks trained on different domain sets of the same corpus (the 14
labelled domains, `corpus cluster --k K` of them with a uniform or a size prior), each bank's
soup (fit and histogram h) and its own equal-budget dense model, from bench_specialists' JSON.

  python3 bench/clusters_report.py NAME=report.json [NAME=report.json ...]

The first is the baseline of the "vs first" columns (the labelled bank's fitted specialist).
"""
import json
import sys


def mean(v):
    return sum(v) / len(v) if v else float("nan")


def main(argv):
    runs = []
    for arg in argv:
        name, path = arg.split("=", 1)
        runs.append((name, json.load(open(path))))
    targets = runs[0][1]["targets"]
    base = runs[0][1]["models"]["soup"]["target_fit"]
    print("| bank | model | " + " | ".join(targets) + " | mean | vs its dense | vs " + runs[0][0] + " soup (fit h) |")
    print("| --- | --- | " + " | ".join("---" for _ in targets) + " | --- | --- | --- |")
    for name, r in runs:
        assert r["targets"] == targets, f"{name}: other targets"
        dense = r["models"]["dense"]["target_hist"]
        rows = [("dense", "target_hist", "dense")]
        for model in sorted(m for m in r["models"] if m != "dense"):  # every soup variant of the run
            rows += [(f"{model}, histogram h", "target_hist", model), (f"{model}, fitted h", "target_fit", model)]
        for label, key, model in rows:
            v = r["models"][model].get(key)
            if not v:
                continue
            rel_dense = 100 * mean([(a - b) / b for a, b in zip(v, dense)])
            rel_base = 100 * mean([(a - b) / b for a, b in zip(v, base)])
            cells = " | ".join(f"{x:.4f}" for x in v)
            print(f"| {name} | {label} | {cells} | {mean(v):.4f} | "
                  f"{'-' if model == 'dense' else f'{rel_dense:+.2f} %'} | {rel_base:+.2f} % |")


if __name__ == "__main__":
    main(sys.argv[1:])
