#!/usr/bin/python3
"""The Python PyTorch peer of souplab's dense training step (docs/DESIGN.md §4.2).

The same model math as engine/nn/gpt.cpp: GPT-2 pre-LayerNorm blocks, Conv1D orientation
(x @ W + b with W of shape (in, out)), tanh GELU, learned positions, tied input/output
embedding, mean next-token cross-entropy; AdamW (torch.optim.AdamW, weight decay on matrices
and embeddings only, the engine's betas/eps/decay) after clipping the global gradient norm.

Initial weights, the batch and the hyper-parameters come from a safetensors file written by
bench_peer (read here with json + numpy: Debian has no safetensors package).

Driven by bench_peer over stdin/stdout so both sides run interleaved in one session:
  prints "ready <torch version> <threads> <mode>", then for each line "steps N" runs N steps
  and prints "ms t1 .. tN loss l1 .. lN"; "quit" ends.
Runs under Debian's interpreter (/usr/bin/python3, python3-torch 1.13) or the project's PyPI
venv (torch 2.11, scripts/install-py-tools.sh). On torch 2.x attention is the fused
scaled_dot_product_attention, as a user of a modern PyTorch writes it; --compile wraps the
forward and loss in torch.compile (inductor, C++ kernels on the CPU).
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dt = np.dtype(DTYPES[e["dtype"]])
        arr = np.frombuffer(data, dtype=dt, count=(end - begin) // dt.itemsize, offset=begin)
        out[name] = torch.from_numpy(arr.reshape(e["shape"]).copy())
    return out, meta


class Peer:
    def __init__(self, path, foreach):
        tensors, meta = read_safetensors(path)
        self.L = int(meta["n_layer"])
        self.nh = int(meta["n_head"])
        self.C = int(meta["n_embd"])
        self.lr = float(meta["lr"])
        self.clip = float(meta["grad_clip"])
        batch = tensors.pop("batch")
        T = batch.shape[1] - 1
        self.x, self.y = batch[:, :T].contiguous(), batch[:, 1:].contiguous()
        decay = set(meta["decay"].split(","))
        self.W = {k: torch.nn.Parameter(v) for k, v in tensors.items()}
        groups = [
            {"params": [p for k, p in self.W.items() if k in decay], "weight_decay": float(meta["weight_decay"])},
            {"params": [p for k, p in self.W.items() if k not in decay], "weight_decay": 0.0},
        ]
        kw = {"foreach": True} if foreach else {}
        self.opt = torch.optim.AdamW(groups, lr=self.lr, betas=(float(meta["beta1"]), float(meta["beta2"])),
                                     eps=float(meta["eps"]), **kw)
        self.params = list(self.W.values())
        self.sdpa = hasattr(F, "scaled_dot_product_attention")
        self.loss_fn = self.loss

    def forward(self, idx):
        W, B, T, C, nh = self.W, idx.shape[0], idx.shape[1], self.C, self.nh
        hs = C // nh
        x = F.embedding(idx, W["wte.weight"]) + W["wpe.weight"][:T]  # (B, T, C)
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        scale = 1.0 / hs ** 0.5
        sdpa = self.sdpa
        for i in range(self.L):
            p = f"h.{i}."
            a = F.layer_norm(x, (C,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], 1e-5).view(B * T, C)
            qkv = torch.addmm(W[p + "attn.c_attn.bias"], a, W[p + "attn.c_attn.weight"]).view(B, T, 3, nh, hs)
            q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))  # (B, nh, T, hs)
            if sdpa:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * scale
                y = att.masked_fill(causal, float("-inf")).softmax(-1) @ v
            y = y.transpose(1, 2).reshape(B * T, C)
            x = x + torch.addmm(W[p + "attn.c_proj.bias"], y, W[p + "attn.c_proj.weight"]).view(B, T, C)
            m = F.layer_norm(x, (C,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], 1e-5).view(B * T, C)
            m = F.gelu(torch.addmm(W[p + "mlp.c_fc.bias"], m, W[p + "mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(W[p + "mlp.c_proj.bias"], m, W[p + "mlp.c_proj.weight"]).view(B, T, C)
        x = F.layer_norm(x, (C,), W["ln_f.weight"], W["ln_f.bias"], 1e-5)
        return x @ W["wte.weight"].t()  # tied output embedding: (B, T, V)

    def loss(self, x, y):
        logits = self.forward(x)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))

    def step(self):
        self.opt.zero_grad()
        loss = self.loss_fn(self.x, self.y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--foreach", action="store_true", help="torch.optim.AdamW(foreach=True)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the forward and loss")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    peer = Peer(a.file, a.foreach)
    mode = "eager"
    if a.compile:
        peer.loss_fn = torch.compile(peer.loss)
        mode = "torch.compile"
    if peer.sdpa:
        mode += "+sdpa"
    print("ready", torch.__version__, torch.get_num_threads(), mode, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "steps":
            times, losses = [], []
            for _ in range(int(cmd[1])):
                t0 = time.perf_counter()
                losses.append(peer.step())
                times.append((time.perf_counter() - t0) * 1e3)
            print("ms", *("%.3f" % t for t in times), "loss", *("%.6f" % l for l in losses), flush=True)


if __name__ == "__main__":
    main()
