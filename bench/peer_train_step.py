#!/usr/bin/python3
"""The Python PyTorch peer of souplab's training step (docs/DESIGN.md §4.2), dense or soup.

Written as a user of modern PyTorch writes it: a GPT-2 nn.Module (pre-LayerNorm blocks, Conv1D
orientation x @ W + b with W of shape (in, out), tanh GELU, learned positions, the input
embedding tied to the output, mean next-token cross-entropy; fused scaled_dot_product_attention
on torch 2.x), AdamW (weight decay on matrices and embeddings only, the engine's betas / eps /
decay) after clipping the global gradient norm. The same math as engine/nn/gpt.cpp.

Soup (the file holds experts): S and the experts E are kept per GPT-2 tensor (E.<name> of shape
(n, *shape)), alpha = MLP(h) (k -> hidden -> n, ReLU), and each group g of the batch runs the
module through torch.func.functional_call with theta_g = S + alpha_g @ E: the soup as a Python
user would write it. The engine's step does the same with its h groups (train.h_per_step).

Initial weights, the batch, the h rows and the hyper-parameters come from a safetensors file
written by bench_peer (read here with json + numpy: Debian has no safetensors package).

Driven by bench_peer over stdin/stdout so every side runs interleaved in one session:
  prints "ready <torch version> <threads> <mode>", then for each line "steps N" runs N steps
  and prints "ms t1 .. tN loss l1 .. lN"; "quit" ends.
Runs under Debian's interpreter (/usr/bin/python3, python3-torch 1.13) or the project's PyPI
venv (torch 2.11, scripts/install-py-tools.sh).
  --optimizer default|foreach|fused  torch.optim.AdamW's implementation (fused: torch >= 2.4 on CPU)
  --compile forward                  torch.compile of the forward and loss (inductor, C++ kernels)
  --compile step                     also the clip and the optimizer step (PyTorch's "compiled
                                     optimizer" recipe); backward is AOTAutograd's compiled graph
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# torch.func arrived in 2.0; Debian's 1.13 has the same function under nn.utils.stateless.
functional_call = torch.func.functional_call if hasattr(torch, "func") else torch.nn.utils.stateless.functional_call
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


class Conv1D(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight).view(*x.shape[:-1], -1)


class Attention(nn.Module):
    def __init__(self, C, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.transpose(1, 2) for t in self.c_attn(x).view(B, T, 3, self.n_head, C // self.n_head).unbind(2))
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch 1.13
            att = (q @ k.transpose(-2, -1)) * (q.size(-1) ** -0.5)
            causal = torch.ones(T, T, dtype=torch.bool).triu(1)
            y = att.masked_fill(causal, float("-inf")).softmax(-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class Mlp(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = Conv1D(C, 4 * C)
        self.c_proj = Conv1D(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, C, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.attn = Attention(C, n_head)
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = Mlp(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, C, T, V=256):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList(Block(C, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe.weight[: idx.size(1)]
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied output embedding: (B, T, V)


def lm_loss(logits, y):
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


class Peer:
    def __init__(self, path, optimizer):
        tensors, meta = read_safetensors(path)
        batch = tensors.pop("batch")
        T = batch.shape[1] - 1
        self.x, self.y = batch[:, :T].contiguous(), batch[:, 1:].contiguous()
        self.clip = float(meta["grad_clip"])
        decay_names = set(meta["decay"].split(","))
        self.model = GPT(int(meta["n_layer"]), int(meta["n_head"]), int(meta["n_embd"]), int(meta["block_size"]))
        names = [n for n, _ in self.model.named_parameters()]
        self.soup = "hs" in tensors
        if self.soup:
            # The module's own parameters are unused: theta comes from S + alpha @ E per call.
            self.model.requires_grad_(False)
            self.hs = tensors.pop("hs")
            self.S = {n: nn.Parameter(tensors.pop(n)) for n in names}
            self.E = {n: nn.Parameter(tensors.pop("E." + n)) for n in names}
            self.coef = {n: nn.Parameter(tensors.pop(n)) for n in ("coef.w1", "coef.b1", "coef.w2", "coef.b2")}
            decay = [p for n, p in self.S.items() if n in decay_names] + \
                    [p for n, p in self.E.items() if n in decay_names] + [self.coef["coef.w1"], self.coef["coef.w2"]]
            rest = [p for n, p in self.S.items() if n not in decay_names] + \
                   [p for n, p in self.E.items() if n not in decay_names] + [self.coef["coef.b1"], self.coef["coef.b2"]]
            self.loss_fn = self.soup_loss
        else:
            self.model.load_state_dict({n: tensors.pop(n) for n in names})
            params = dict(self.model.named_parameters())
            decay = [p for n, p in params.items() if n in decay_names]
            rest = [p for n, p in params.items() if n not in decay_names]
            self.loss_fn = self.dense_loss
        if tensors:
            raise SystemExit("peer_train_step: unexpected tensors in %s: %s" % (path, sorted(tensors)))
        self.params = decay + rest
        kw = {"foreach": False} if optimizer == "default" else {optimizer: True}
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": float(meta["weight_decay"])}, {"params": rest, "weight_decay": 0.0}],
            lr=float(meta["lr"]), betas=(float(meta["beta1"]), float(meta["beta2"])), eps=float(meta["eps"]), **kw)
        self.update = self.clip_and_step

    def dense_loss(self, x, y):
        return lm_loss(self.model(x), y)

    def soup_loss(self, x, y):
        c = self.coef
        A = F.linear(F.relu(F.linear(self.hs, c["coef.w1"], c["coef.b1"])), c["coef.w2"], c["coef.b2"])  # (G, n)
        G = A.size(0)
        b = x.size(0) // G
        total = 0
        for g in range(G):  # each group of rows through its own specialist theta_g = S + alpha_g @ E
            theta = {n: s + torch.tensordot(A[g], self.E[n], dims=1) for n, s in self.S.items()}
            logits = functional_call(self.model, theta, (x[g * b:(g + 1) * b],))
            total = total + lm_loss(logits, y[g * b:(g + 1) * b])
        return total / G

    def clip_and_step(self):
        torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.x, self.y)
        loss.backward()
        self.update()
        return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--optimizer", choices=["default", "foreach", "fused"], default="default")
    ap.add_argument("--compile", choices=["none", "forward", "step"], default="none")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    peer = Peer(a.file, a.optimizer)
    mode = ("soup" if peer.soup else "dense") + ",AdamW-" + a.optimizer
    if a.compile != "none":
        peer.loss_fn = torch.compile(peer.loss_fn)
        mode += ",compile-forward"
    if a.compile == "step":
        peer.update = torch.compile(peer.clip_and_step)
        mode += "+step"
    if hasattr(F, "scaled_dot_product_attention"):
        mode += ",sdpa"
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
