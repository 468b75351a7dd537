"""Runs an exported model.onnx in onnxruntime, a runtime independent of SoupLab's libtorch and
of the ONNX C++ library that wrote it.

usage: python run_onnx.py MODEL.onnx CASES.json OUT_PREFIX
CASES.json: [{"batch": B, "seq": T, "ids": [B*T ints]}, ...]
Writes OUT_PREFIX<i>.f32 (the logits, float32 little-endian, row-major) per case and prints
JSON [{"dims": [...]}, ...] on stdout.
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main():
    model, cases_file, prefix = sys.argv[1:4]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    with open(cases_file) as f:
        cases = json.load(f)
    summary = []
    for i, c in enumerate(cases):
        ids = np.asarray(c["ids"], dtype=np.int64).reshape(c["batch"], c["seq"])
        (logits,) = session.run(["logits"], {"input_ids": ids})
        logits.astype("<f4").tofile(f"{prefix}{i}.f32")
        summary.append({"dims": list(logits.shape)})
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
