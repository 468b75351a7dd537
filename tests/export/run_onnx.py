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


def full_sequence_feed(session, ids):
    """The inputs for a whole sequence with no cache: no padding, positions 0..T-1, every
    past_key_values.* with 0 past positions (shape [batch, heads, 0, head size])."""
    batch, seq = ids.shape
    feed = {
        "input_ids": ids,
        "attention_mask": np.ones((batch, seq), dtype=np.int64),
        "position_ids": np.tile(np.arange(seq, dtype=np.int64), (batch, 1)),
    }
    for i in session.get_inputs():
        if i.name.startswith("past_key_values."):
            heads, head_size = i.shape[1], i.shape[3]
            feed[i.name] = np.zeros((batch, heads, 0, head_size), dtype=np.float32)
    return feed


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
        (logits,) = session.run(["logits"], full_sequence_feed(session, ids))
        logits.astype("<f4").tofile(f"{prefix}{i}.f32")
        summary.append({"dims": list(logits.shape)})
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
