#!/usr/bin/env python3
"""One training step of the GPT as souplab trains it, profiled op by op (torch.profiler), under
whichever PyTorch runs it: Debian's 1.13 (/usr/bin/python3 with python3-torch: the libtorch of the
default build) or the PyPI 2.11 of the project's venv (the libtorch of build-torch2). Same model
math as engine/nn/gpt.cpp (pre-LayerNorm GPT-2 blocks, tanh GELU, tied embedding), AdamW, clip.
On 1.13 attention is matmul-mask-softmax-matmul (all it has); on 2.x scaled_dot_product_attention.

    python3 bench/profile_step.py [--layers 2] [--width 64] [--threads 2] [--no-sdpa]

Prints ms per step and the ops by self CPU time (docs/BENCHMARKS.md "Where libtorch 1.13 lost").
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-sdpa", action="store_true", help="matmul attention on 2.x too")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    L, C, nh, T, B, V = a.layers, a.width, a.heads, a.context, a.batch, 256
    sdpa = hasattr(F, "scaled_dot_product_attention") and not a.no_sdpa
    W = {}

    def param(name, *shape):
        W[name] = torch.nn.Parameter(torch.randn(*shape) * 0.02)

    param("wte", V, C)
    param("wpe", T, C)
    for i in range(L):
        for n, s in [("ln1w", (C,)), ("ln1b", (C,)), ("attnw", (C, 3 * C)), ("attnb", (3 * C,)), ("projw", (C, C)),
                     ("projb", (C,)), ("ln2w", (C,)), ("ln2b", (C,)), ("fcw", (C, 4 * C)), ("fcb", (4 * C,)),
                     ("mpw", (4 * C, C)), ("mpb", (C,))]:
            param(f"{i}{n}", *s)
    param("lnfw", C)
    param("lnfb", C)
    opt = torch.optim.AdamW(list(W.values()), lr=1e-3)
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    hs = C // nh

    def loss():
        h = F.embedding(x, W["wte"]) + W["wpe"][:T]
        for i in range(L):
            z = F.layer_norm(h, (C,), W[f"{i}ln1w"], W[f"{i}ln1b"]).view(B * T, C)
            q, k, v = (t.transpose(1, 2) for t in torch.addmm(W[f"{i}attnb"], z, W[f"{i}attnw"]).view(B, T, 3, nh, hs).unbind(2))
            if sdpa:
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                o = ((q @ k.transpose(-2, -1)) * hs ** -0.5).masked_fill(causal, float("-inf")).softmax(-1) @ v
            h = h + torch.addmm(W[f"{i}projb"], o.transpose(1, 2).reshape(B * T, C), W[f"{i}projw"]).view(B, T, C)
            m = F.layer_norm(h, (C,), W[f"{i}ln2w"], W[f"{i}ln2b"]).view(B * T, C)
            m = F.gelu(torch.addmm(W[f"{i}fcb"], m, W[f"{i}fcw"]), approximate="tanh")
            h = h + torch.addmm(W[f"{i}mpb"], m, W[f"{i}mpw"]).view(B, T, C)
        h = F.layer_norm(h, (C,), W["lnfw"], W["lnfb"])
        return F.cross_entropy((h @ W["wte"].t()).reshape(-1, V), y.reshape(-1))

    def step():
        opt.zero_grad()
        loss().backward()
        torch.nn.utils.clip_grad_norm_(list(W.values()), 1.0)
        opt.step()

    for _ in range(5):
        step()
    t0, n = time.perf_counter(), 20
    for _ in range(n):
        step()
    dt = (time.perf_counter() - t0) / n
    print(f"torch {torch.__version__} L{L} C{C} threads {a.threads} attention {'sdpa' if sdpa else 'matmul'}: "
          f"{dt * 1e3:.1f} ms/step, {B * T / dt:.0f} tokens/s (5 steps profiled below)")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


if __name__ == "__main__":
    main()
