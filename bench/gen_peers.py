#!/usr/bin/env python3
"""Greedy generation speed of one exported specialist (souplab-cli export --format all) in the
tools people load it with, same threads, prompt and length: transformers (the folder, PyTorch
eager, fp32), onnxruntime (model.onnx with its KV cache) and llama.cpp (model-f16.gguf through
llama-cpp-python), at batch 1 and, where the tool generates a batch, batch 8 (the prompt eight
times). Tokens per second counted after the first new token (the prompt's pass excluded), the
median of --reps runs. Prints one Markdown row per (tool, batch): "| tool | batch | tokens/s |".

usage: gen_peers.py FOLDER --prompt TEXT --length N --threads T [--reps 3]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "export"))


def beyond_first(generate, length, batch, reps):
    """Median tokens/s after the first new token of `generate(n)` (which makes n new tokens per
    row): each run times n = 1 and n = length, and the difference is the length - 1 later steps."""
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        generate(1)
        t1 = time.perf_counter()
        generate(length)
        t2 = time.perf_counter()
        rates.append(batch * (length - 1) / ((t2 - t1) - (t1 - t0)))
    return statistics.median(rates)


def run_transformers(folder, prompt, length, batch, threads, reps):
    import torch
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(threads)
    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    ids = torch.tensor([list(prompt)] * batch, dtype=torch.int64)

    def generate(n):
        with torch.no_grad():
            model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0, eos_token_id=None)

    return beyond_first(generate, length, batch, reps)


def run_onnx(folder, prompt, length, batch, threads, reps):
    from check_onnx_generation import Decoder, generate as onnx_generate
    dec = Decoder(os.path.join(folder, "model.onnx"), threads)
    return beyond_first(lambda n: onnx_generate(dec, [list(prompt)] * batch, n, cached=True), length, batch, reps)


def run_llama(folder, prompt, length, threads, reps):
    from llama_cpp import Llama
    # logits_all: llama-cpp-python keeps a step's logits in .scores only then (one row per eval here).
    llm = Llama(model_path=os.path.join(folder, "model-f16.gguf"), n_ctx=256, n_threads=threads,
                n_threads_batch=threads, logits_all=True, verbose=False)
    tokens = llm.tokenize(prompt, add_bos=False, special=False)
    rates = []
    for _ in range(reps):
        llm.reset()
        llm.eval(tokens)  # the prompt's pass: the first new token's logits
        t0 = time.perf_counter()
        for _ in range(length - 1):  # greedy by hand: byte 0 (its end-of-text id) is an ordinary byte here
            llm.eval([int(np.argmax(llm.scores[llm.n_tokens - 1]))])
        rates.append((length - 1) / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    prompt = a.prompt.encode()
    for batch in (1, 8):
        print("| transformers (PyTorch eager, fp32) | %d | %.0f |" % (
            batch, run_transformers(a.folder, prompt, a.length, batch, a.threads, a.reps)), flush=True)
        print("| onnxruntime (model.onnx, KV cache, fp32) | %d | %.0f |" % (
            batch, run_onnx(a.folder, prompt, a.length, batch, a.threads, a.reps)), flush=True)
    print("| llama.cpp (model-f16.gguf) | 1 | %.0f |" % run_llama(a.folder, prompt, a.length, a.threads, a.reps),
          flush=True)


if __name__ == "__main__":
    main()
