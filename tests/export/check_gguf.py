"""Checks an exported GGUF file with tools independent of SoupLab.

usage: check_gguf.py MODEL.gguf MODEL.safetensors --ids 1,2,3 [--greedy 4,5,6] [--require-llama]

1. The `gguf` package (llama.cpp's gguf-py) reads it back: architecture gpt2 and its
   hyperparameters, the 256 byte tokens spelled as GPT-2's bytes_to_unicode() characters, an
   empty merges list; every tensor, dequantized, against the export's float32 safetensors
   (GPT-2's Conv1D weights transposed): f32 exactly, f16 exactly IEEE half of each float, q8_0
   within half a quantisation step of its block (plus the fp16 rounding of the scale).
2. A numpy GPT-2 forward in float64 over those dequantized weights against the same forward over
   the safetensors weights, on --ids.
3. llama.cpp itself (llama-cpp-python, when installed; --require-llama makes it a failure
   otherwise) loads the file, tokenizes text into exactly its UTF-8 bytes, and its logits on
   --ids match the float64 forward of the safetensors weights within the type's tolerance
   (relative to the largest logit): f32 1e-3, f16 1e-2, q8_0 5e-2; its greedy continuation of
   --ids equals --greedy (souplab's) for f32 and f16 (q8_0: the matching prefix is reported).
Prints one JSON object; exits 1 when a check fails (the object says which).
"""
import argparse
import json
import struct
import sys

import numpy as np
import gguf

from byte_level import bytes_to_unicode

# Relative to the largest logit. Even f32 is not exact: llama.cpp's CPU GELU reads a table of fp16
# values (measured 1.5e-4 on the default bank's specialist with an f32 KV cache).
LOGIT_TOL = {"F32": 1e-3, "F16": 1e-2, "Q8_0": 5e-2}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"])
    return out


def gguf_weights(reader):
    """GGUF tensors dequantized, renamed and shaped back to GPT-2's names and layout."""
    w = {}
    for t in reader.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        a = a.reshape([int(x) for x in reversed(t.shape)])  # ggml ne is fastest-first
        w[t.name] = (a, t.tensor_type.name)
    return w


def gpt2_names(L):
    """(GGUF name, GPT-2 name, transposed?)"""
    m = [("token_embd.weight", "wte.weight", False), ("position_embd.weight", "wpe.weight", False),
         ("output_norm.weight", "ln_f.weight", False), ("output_norm.bias", "ln_f.bias", False)]
    for i in range(L):
        for g, h, tr in [("attn_norm.weight", "ln_1.weight", False), ("attn_norm.bias", "ln_1.bias", False),
                         ("attn_qkv.weight", "attn.c_attn.weight", True), ("attn_qkv.bias", "attn.c_attn.bias", False),
                         ("attn_output.weight", "attn.c_proj.weight", True), ("attn_output.bias", "attn.c_proj.bias", False),
                         ("ffn_norm.weight", "ln_2.weight", False), ("ffn_norm.bias", "ln_2.bias", False),
                         ("ffn_up.weight", "mlp.c_fc.weight", True), ("ffn_up.bias", "mlp.c_fc.bias", False),
                         ("ffn_down.weight", "mlp.c_proj.weight", True), ("ffn_down.bias", "mlp.c_proj.bias", False)]:
            m.append((f"blk.{i}.{g}", f"h.{i}.{h}", tr))
    return m


def forward(W, L, H, ids):
    """GPT-2 (pre-LN, tanh GELU, tied head) in float64: logits (T, V)."""
    W = {k: v.astype(np.float64) for k, v in W.items()}
    T = len(ids)
    x = W["wte.weight"][ids] + W["wpe.weight"][:T]

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * W[p + ".weight"] + W[p + ".bias"]

    C = x.shape[1]
    hs = C // H
    causal = np.tril(np.ones((T, T), dtype=bool))
    for i in range(L):
        p = f"h.{i}."
        qkv = ln(x, p + "ln_1") @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (qkv[:, j * C:(j + 1) * C].reshape(T, H, hs).transpose(1, 0, 2) for j in range(3))
        att = q @ k.transpose(0, 2, 1) / np.sqrt(hs)
        att = np.where(causal, att, -np.inf)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        y = (att @ v).transpose(1, 0, 2).reshape(T, C)
        x = x + y @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        u = ln(x, p + "ln_2") @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        g = 0.5 * u * (1 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u ** 3)))
        x = x + g @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    return ln(x, "ln_f") @ W["wte.weight"].T


def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def run_llama(path, ids, greedy_len, n_ctx):
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, logits_all=True, verbose=False, n_threads=1,
                n_threads_batch=1, type_k=0, type_v=0, flash_attn=False)  # f32 KV cache: no extra rounding
    text = "Hello, wörld! \t☃\n"
    out = {"tokenize_is_bytes": llm.tokenize(text.encode(), add_bos=False, special=False) == list(text.encode())}
    llm.reset()
    llm.eval(ids)
    out["logits"] = np.array(llm.scores[:len(ids)], dtype=np.float64)
    seq = list(ids)
    for _ in range(greedy_len):  # greedy, one token at a time through llama.cpp's KV cache
        nxt = int(np.argmax(llm.scores[len(seq) - 1]))
        seq.append(nxt)
        llm.eval([nxt])
    out["greedy"] = seq[len(ids):]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("safetensors")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--greedy", default="")
    ap.add_argument("--require-llama", action="store_true")
    a = ap.parse_args()
    ids = [int(x) for x in a.ids.split(",")]
    greedy = [int(x) for x in a.greedy.split(",")] if a.greedy else []
    r = gguf.GGUFReader(a.gguf)
    rep = {"ok": True, "failed": []}

    def check(cond, what):
        if not cond:
            rep["ok"] = False
            rep["failed"].append(what)

    L = int(field(r, "gpt2.block_count"))
    H = int(field(r, "gpt2.attention.head_count"))
    T = int(field(r, "gpt2.context_length"))
    check(field(r, "general.architecture") == "gpt2", "architecture")
    b2u = bytes_to_unicode()
    check(list(field(r, "tokenizer.ggml.tokens")) == [b2u[b] for b in range(256)], "byte tokens")
    check("tokenizer.ggml.merges" in r.fields and len(field(r, "tokenizer.ggml.merges")) == 0, "empty merges")
    check(field(r, "tokenizer.ggml.add_bos_token") is False, "no BOS added")

    ref = read_safetensors(a.safetensors)
    got = gguf_weights(r)
    names = gpt2_names(L)
    check(sorted(got) == sorted(g for g, _, _ in names), "tensor names")
    types = set()
    worst = 0.0
    deq = {}
    for g, h, tr in names:
        if g not in got:
            continue
        w, t = got[g]
        w = w.T if tr else w
        deq[h] = w
        want = ref[h]
        check(w.shape == want.shape, f"shape of {g}")
        if w.shape != want.shape:
            continue
        types.add(t)
        if t == "F32":
            ok = np.array_equal(w, want)
        elif t == "F16":
            ok = np.array_equal(w, want.astype(np.float16).astype(np.float32))
        else:  # Q8_0: blocks of 32 along the GGUF row, i.e. along GPT-2's input axis when transposed
            rows = (want.T if tr else want).reshape(-1, 32)
            step = np.abs(rows).max(axis=1, keepdims=True) / 127.0
            err = np.abs((w.T if tr else w).reshape(-1, 32) - rows)
            ok = bool((err <= step * 0.5 + np.abs(rows) * 1e-3 + 1e-12).all())
            worst = max(worst, float((err / np.maximum(step, 1e-30)).max()))
        check(ok, f"values of {g} ({t})")
    rep["types"] = sorted(types)
    if worst:
        rep["q8_0_worst_error_in_steps"] = worst
    kind = "Q8_0" if "Q8_0" in types else "F16" if "F16" in types else "F32"
    rep["file_type"] = kind

    want_logits = forward(ref, L, H, ids)
    scale = float(np.abs(want_logits).max())
    rep["logit_scale"] = scale
    if len(deq) == len(ref):
        rep["numpy_dequantized_max_abs"] = float(np.abs(forward(deq, L, H, ids) - want_logits).max())

    llama = run_llama(a.gguf, ids, len(greedy), T)
    rep["llama_cpp"] = llama is not None
    if llama is None:
        check(not a.require_llama, "llama.cpp (llama-cpp-python) not installed")
    else:
        diff = float(np.abs(llama["logits"] - want_logits).max())
        rep["llama_logits_max_abs"] = diff
        rep["llama_logits_tolerance"] = LOGIT_TOL[kind] * scale
        check(llama["tokenize_is_bytes"], "llama.cpp tokenizes text into its bytes")
        check(diff <= LOGIT_TOL[kind] * scale, f"llama.cpp logits within {LOGIT_TOL[kind]} x the largest")
        same = 0
        while same < min(len(greedy), len(llama["greedy"])) and greedy[same] == llama["greedy"][same]:
            same += 1
        rep["greedy_matching"] = same
        rep["greedy_len"] = len(greedy)
        if kind != "Q8_0":
            check(same == len(greedy), "llama.cpp greedy tokens equal souplab's")
    json.dump(rep, sys.stdout)
    sys.exit(0 if rep["ok"] else 1)


if __name__ == "__main__":
    main()
