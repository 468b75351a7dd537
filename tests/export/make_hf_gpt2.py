"""Makes GPT-2 folders the way Hugging Face transformers users have them, for the test that
SoupLab loads them (load_specialist_safetensors, Model::load): a tiny byte-level
GPT2LMHeadModel (vocab 256, n_positions 32, n_embd 32, n_layer 2, n_head 2) with O(1) random
weights, saved with save_pretrained as

  OUT/float32   OUT/float16   OUT/bfloat16     (tensor names "transformer.*", tied lm_head not saved)
  OUT/legacy    float16 as older transformers releases wrote it: lm_head.weight saved beside
                wte (tied, equal) and the attention buffers h.N.attn.bias (BOOL causal mask,
                1x1x32x32) and h.N.attn.masked_bias (a scalar)
  OUT/untied    float32 with an lm_head.weight that differs from wte (must be refused)
  OUT/wrong-shape  float32 with transformer.h.1.mlp.c_fc.bias cut to 127 values (must be refused)

and prints JSON {"greedy": {FOLDER: ids}}: for each loadable folder, the greedy continuation
(12 new tokens) of PROMPT by transformers' generate with the folder's weights in float32.

usage: python make_hf_gpt2.py OUT PROMPT
"""
import copy
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel


def tiny_model():
    torch.manual_seed(31)
    config = GPT2Config(vocab_size=256, n_positions=32, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=None, eos_token_id=None)
    model = GPT2LMHeadModel(config).eval()
    # transformers' initialisation (std 0.02) gives near-zero logits; O(1) ones make a wrong
    # tensor show far above rounding.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p) if name.endswith("weight") else 0.05 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif name in ("transformer.wte.weight", "transformer.wpe.weight"):
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    return model


def rewrite(folder, change):
    path = os.path.join(folder, "model.safetensors")
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, path, metadata={"format": "pt"})


def main():
    out, prompt = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    model = tiny_model()
    # Each folder from a copy: Module.to(dtype) rounds in place.
    for dtype in ("float32", "float16", "bfloat16"):
        copy.deepcopy(model).to(getattr(torch, dtype)).save_pretrained(os.path.join(out, dtype))

    legacy = os.path.join(out, "legacy")
    copy.deepcopy(model).to(torch.float16).save_pretrained(legacy)

    def add_legacy(t):
        t["lm_head.weight"] = t["transformer.wte.weight"].clone()
        for layer in range(model.config.n_layer):
            t[f"transformer.h.{layer}.attn.bias"] = torch.tril(torch.ones(32, 32, dtype=torch.bool)).view(1, 1, 32, 32)
            t[f"transformer.h.{layer}.attn.masked_bias"] = torch.tensor(-1e4, dtype=torch.float16)
    rewrite(legacy, add_legacy)

    untied = os.path.join(out, "untied")
    model.save_pretrained(untied)
    rewrite(untied, lambda t: t.__setitem__("lm_head.weight", t["transformer.wte.weight"] + 0.25))

    wrong = os.path.join(out, "wrong-shape")
    model.save_pretrained(wrong)
    rewrite(wrong, lambda t: t.__setitem__("transformer.h.1.mlp.c_fc.bias", t["transformer.h.1.mlp.c_fc.bias"][:127].clone()))

    ids = torch.tensor([list(prompt.encode("utf-8"))], dtype=torch.int64)
    greedy = {}
    with torch.no_grad():
        for name in ("float32", "float16", "bfloat16", "legacy"):
            m = AutoModelForCausalLM.from_pretrained(os.path.join(out, name), dtype=torch.float32,
                                                     attn_implementation="eager").eval()
            seq = m.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=12,
                             pad_token_id=None, eos_token_id=None)
            greedy[name] = seq[0, ids.shape[1]:].tolist()
    json.dump({"greedy": greedy}, sys.stdout)


if __name__ == "__main__":
    main()
