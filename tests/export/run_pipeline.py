"""Loads an export folder the way Hugging Face users do, with no code of ours: AutoTokenizer and
AutoModelForCausalLM, then pipeline("text-generation", model=FOLDER), and prints as JSON the
classes it got and the pipeline's greedy continuation of PROMPT (do_sample=False), both as the
generated token ids (the bytes: compared byte for byte with souplab-cli generate) and as the
pipeline's text.

usage: python run_pipeline.py FOLDER PROMPT MAX_NEW_TOKENS
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline


def main():
    folder, prompt, max_new = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    generate = pipeline("text-generation", model=folder, device="cpu")
    prompt_ids = tokenizer.encode(prompt)
    ids = generate(prompt, do_sample=False, max_new_tokens=max_new, return_tensors=True)[0]["generated_token_ids"]
    text = generate(prompt, do_sample=False, max_new_tokens=max_new)[0]["generated_text"]
    if list(ids[:len(prompt_ids)]) != prompt_ids:
        print("the pipeline's ids do not start with the prompt's", file=sys.stderr)
        sys.exit(1)
    json.dump({"model_class": type(model).__name__, "tokenizer_class": type(tokenizer).__name__,
               "pipeline_model_class": type(generate.model).__name__,
               "prompt_ids": prompt_ids, "generated_ids": list(ids[len(prompt_ids):]),
               "generated_text": text}, sys.stdout)


if __name__ == "__main__":
    main()
