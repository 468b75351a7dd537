"""Loads an exported specialist folder with Hugging Face transformers, the way users do
(GPT2LMHeadModel.from_pretrained(folder), torch from the same virtual environment), and writes
its logits: the check that the folder really is a GPT-2 model to the library people use.

usage: python run_transformers.py FOLDER CASES.json OUT_PREFIX
CASES.json and the outputs as in run_onnx.py.
"""
import json
import sys

import torch
from transformers import GPT2LMHeadModel


def main():
    folder, cases_file, prefix = sys.argv[1:4]
    torch.set_num_threads(1)
    # attn_implementation="eager": the reference path, not a fused kernel that may round differently.
    model = GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager").eval()
    with open(cases_file) as f:
        cases = json.load(f)
    summary = []
    with torch.no_grad():
        for i, c in enumerate(cases):
            ids = torch.tensor(c["ids"], dtype=torch.int64).reshape(c["batch"], c["seq"])
            logits = model(input_ids=ids).logits.to(torch.float32).contiguous()
            logits.numpy().astype("<f4").tofile(f"{prefix}{i}.f32")
            summary.append({"dims": list(logits.shape)})
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
