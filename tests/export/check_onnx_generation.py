"""Checks that an exported model.onnx generates efficiently and correctly in onnxruntime: its KV
cache (past_key_values.* in, present.* out), attention_mask and position_ids.

usage: python check_onnx_generation.py MODEL.onnx [--tokens N] [--seed S] [--time] [--threads N]
  1. a left-padded batch of three prompts of unequal length gives, at every real position, the
     logits of each prompt run alone (no padding);
  2. greedy generation with the cache (one token per call) gives the tokens and the logits of
     generation without it (the whole sequence every call), for one prompt and for the padded
     batch;
  3. with --time, tokens/s of both ways at batch 1 (N new tokens after a 16-byte prompt), on
     --threads intra-op threads (0: onnxruntime's default).
Prints one JSON object; exits 1 when a check fails (the object says which).
"""
import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort

TOL = 1e-4


class Decoder:
    def __init__(self, path, threads=0):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads  # 0: onnxruntime's default (every core)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.past_names = [i.name for i in self.session.get_inputs() if i.name.startswith("past_key_values.")]
        first = next(i for i in self.session.get_inputs() if i.name == self.past_names[0])
        self.heads, self.head_size = first.shape[1], first.shape[3]
        self.outputs = ["logits"] + ["present." + n[len("past_key_values."):] for n in self.past_names]

    def empty_past(self, batch):
        return [np.zeros((batch, self.heads, 0, self.head_size), dtype=np.float32) for _ in self.past_names]

    def run(self, ids, mask, positions, past):
        feed = {"input_ids": ids, "attention_mask": mask, "position_ids": positions}
        feed.update(dict(zip(self.past_names, past)))
        out = self.session.run(self.outputs, feed)
        return out[0], out[1:]


def positions_of(mask):
    """HF's rule: position = number of real tokens before, pads at 0."""
    return np.maximum(np.cumsum(mask, axis=1) - 1, 0).astype(np.int64)


def left_pad(prompts):
    width = max(len(p) for p in prompts)
    ids = np.zeros((len(prompts), width), dtype=np.int64)
    mask = np.zeros((len(prompts), width), dtype=np.int64)
    for b, p in enumerate(prompts):
        ids[b, width - len(p):] = p
        mask[b, width - len(p):] = 1
    return ids, mask


def alone(dec, prompt):
    ids = np.asarray([prompt], dtype=np.int64)
    mask = np.ones_like(ids)
    logits, _ = dec.run(ids, mask, positions_of(mask), dec.empty_past(1))
    return logits[0]


def generate(dec, prompts, tokens, cached):
    """Greedy: returns (new tokens [batch, tokens], logits of each step [tokens, batch, V])."""
    ids, mask = left_pad(prompts)
    batch = len(prompts)
    steps_logits, new = [], []
    past = dec.empty_past(batch)
    feed_ids, feed_mask = ids, mask
    for _ in range(tokens):
        if cached:
            pos = positions_of(feed_mask)[:, -feed_ids.shape[1]:]
            logits, past = dec.run(feed_ids, feed_mask, pos, past)
        else:
            logits, _ = dec.run(ids, mask, positions_of(mask), dec.empty_past(batch))
        last = logits[:, -1, :]
        nxt = last.argmax(axis=-1).astype(np.int64)
        steps_logits.append(last)
        new.append(nxt)
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
        mask = np.concatenate([mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
        feed_ids, feed_mask = nxt[:, None], mask
    return np.stack(new, axis=1), np.stack(steps_logits)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--tokens", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    dec = Decoder(a.model, a.threads)
    rng = np.random.default_rng(a.seed)
    prompts = [list(rng.integers(0, 256, n)) for n in (9, 3, 6)]
    report = {"ok": True}

    # 1. The padded batch against each prompt alone, at every real position.
    ids, mask = left_pad(prompts)
    batch_logits, _ = dec.run(ids, mask, positions_of(mask), dec.empty_past(len(prompts)))
    worst = 0.0
    for b, p in enumerate(prompts):
        real = batch_logits[b, ids.shape[1] - len(p):, :]
        worst = max(worst, float(np.abs(real - alone(dec, p)).max()))
    report["padded_vs_alone_max_abs"] = worst
    report["ok"] &= bool(np.isfinite(batch_logits).all()) and worst < TOL

    # 2. Cached against uncached greedy generation, one prompt and the padded batch.
    for name, group in (("single", prompts[:1]), ("batch", prompts)):
        t_c, l_c = generate(dec, group, a.tokens, cached=True)
        t_u, l_u = generate(dec, group, a.tokens, cached=False)
        diff = float(np.abs(l_c - l_u).max())
        report[f"{name}_cached_vs_uncached_max_abs"] = diff
        report[f"{name}_tokens_equal"] = bool((t_c == t_u).all())
        report["ok"] &= diff < TOL and bool((t_c == t_u).all())
    # The batch generated together equals each prompt generated alone.
    t_b, _ = generate(dec, prompts, a.tokens, cached=True)
    same = all((generate(dec, [p], a.tokens, cached=True)[0][0] == t_b[b]).all() for b, p in enumerate(prompts))
    report["batch_tokens_equal_alone"] = bool(same)
    report["ok"] &= bool(same)

    # 3. Speed at batch 1.
    if a.time:
        prompt = [list(rng.integers(0, 256, 16))]
        for cached in (True, False):
            generate(dec, prompt, 4, cached)  # warm-up
            start = time.perf_counter()
            generate(dec, prompt, a.tokens, cached)
            report["cached_tokens_per_s" if cached else "uncached_tokens_per_s"] = a.tokens / (time.perf_counter() - start)
    json.dump(report, sys.stdout)
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
