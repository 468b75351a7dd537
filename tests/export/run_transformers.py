"""Loads an exported specialist folder with Hugging Face transformers, the way users do
(GPT2LMHeadModel.from_pretrained(folder), torch from the same virtual environment), and writes
its logits: the check that the folder really is a GPT-2 model to the library people use.

usage: python run_transformers.py FOLDER CASES.json OUT_PREFIX [DTYPE]
CASES.json and the outputs as in run_onnx.py. DTYPE: the dtype the model is loaded and run in,
"float32" (the default: weights stored in float16 or bfloat16 are widened exactly, as SoupLab
widens them) or "native" (the folder's own dtype, transformers' arithmetic in it); the logits
written are float32 either way.
"""
import json
import sys

import torch
from transformers import GPT2LMHeadModel


def main():
    folder, cases_file, prefix = sys.argv[1:4]
    dtype = sys.argv[4] if len(sys.argv) > 4 else "float32"
    torch.set_num_threads(1)
    # attn_implementation="eager": the reference path, not a fused kernel that may round differently.
    model = GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager",
                                            dtype="auto" if dtype == "native" else getattr(torch, dtype)).eval()
    with open(cases_file) as f:
        cases = json.load(f)
    summary = []
    with torch.no_grad():
        for i, c in enumerate(cases):
            ids = torch.tensor(c["ids"], dtype=torch.int64).reshape(c["batch"], c["seq"])
            logits = model(input_ids=ids).logits.to(torch.float32).contiguous()
            logits.numpy().astype("<f4").tofile(f"{prefix}{i}.f32")
            summary.append({"dims": list(logits.shape), "dtype": str(model.dtype).replace("torch.", "")})
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
