#!/usr/bin/env python3
"""Writes adamw_golden.json: PyTorch's torch.optim.AdamW run for 10 steps on fixed tensors, the
reference the engine's fused AdamW (engine/nn/adamw.h) is checked against (test_adamw_golden).

Run once with any PyTorch (Debian's python3-torch, or the project's venv made by
scripts/install-py-tools.sh); the JSON it writes is committed as the test's fixture:

    python3 tests/nn/make_adamw_golden.py tests/nn/adamw_golden.json

The engine's optimiser has what torch.optim.AdamW has not: per-element decay masks (a mask (P)
repeated along an expert tensor's leading dimension) and a learning-rate scale per tensor. Both
are expressed here in PyTorch's own terms, which is what makes this an independent reference:
AdamW is element-wise, so each tensor is split into its decayed and its undecayed elements, each
part a parameter of its own in a param group with weight_decay = wd or 0 and lr = lr_t * scale.
Gradient clipping is torch.nn.utils.clip_grad_norm_ over all the gradients, as the engine's
grad_clip_scale computes it (max_norm / (norm + 1e-6) when the norm exceeds max_norm).
"""
import json
import sys

import torch

STEPS = 10
BETA1, BETA2, EPS, WD = 0.9, 0.95, 1e-8, 0.1
MAX_NORM = 1.0
P, N_EXPERTS = 32, 3


def main(out_path):
    gen = torch.Generator().manual_seed(1234)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float32) * scale

    # The engine's tensors: theta (P) with a per-element decay mask, experts (n, P) decayed by
    # the same (P) mask repeated along n, and a coefficient matrix (8, 5) with no decay.
    mask = (torch.arange(P) % 3 != 0).to(torch.float32)  # 1 = decayed
    tensors = [
        {"name": "theta", "value": randn(P, scale=0.5), "mask": mask, "lr_scale": 1.0},
        {"name": "experts", "value": randn(N_EXPERTS, P, scale=0.2), "mask": mask, "lr_scale": 0.125},
        {"name": "coef", "value": randn(8, 5, scale=0.3), "mask": None, "lr_scale": 0.1},
    ]
    # Gradients of every step; steps 2, 5 and 8 large enough for clipping to act.
    grads = [[randn(*t["value"].shape, scale=(3.0 if s in (2, 5, 8) else 0.05)) for t in tensors]
             for s in range(STEPS)]
    # A warm-up then decay, as the trainer's schedule gives it, one learning rate per step.
    lrs = [2e-2 * min(1.0, (s + 1) / 3) * (0.9 ** s) for s in range(STEPS)]

    # Split each tensor into its decayed and undecayed elements (flat index lists).
    parts = []  # (tensor index, flat indices, decayed)
    for i, t in enumerate(tensors):
        n = t["value"].numel()
        if t["mask"] is None:
            parts.append((i, torch.arange(n), False))
            continue
        rep = t["mask"].repeat(n // t["mask"].numel())
        parts.append((i, torch.nonzero(rep == 1).flatten(), True))
        parts.append((i, torch.nonzero(rep == 0).flatten(), False))
    params = [tensors[i]["value"].flatten()[idx].clone().requires_grad_(True) for i, idx, _ in parts]
    groups = [{"params": [p], "weight_decay": WD if decayed else 0.0, "scale": tensors[i]["lr_scale"]}
              for p, (i, _, decayed) in zip(params, parts)]
    opt = torch.optim.AdamW(groups, lr=lrs[0], betas=(BETA1, BETA2), eps=EPS, foreach=False)

    clip_scales = []
    for s in range(STEPS):
        for p, (i, idx, _) in zip(params, parts):
            p.grad = grads[s][i].flatten()[idx].clone()
        norm = torch.nn.utils.clip_grad_norm_(params, MAX_NORM)
        clip_scales.append(min(1.0, MAX_NORM / (float(norm) + 1e-6)))
        for g in opt.param_groups:
            g["lr"] = lrs[s] * g["scale"]
        opt.step()

    final = []
    for i, t in enumerate(tensors):
        flat = t["value"].flatten().clone()
        for p, (j, idx, _) in zip(params, parts):
            if j == i:
                flat[idx] = p.detach()
        final.append(flat.view_as(t["value"]))

    def floats(x):
        return [float(v) for v in x.flatten().tolist()]

    doc = {
        "generator": "tests/nn/make_adamw_golden.py, torch " + torch.__version__,
        "beta1": BETA1, "beta2": BETA2, "eps": EPS, "weight_decay": WD, "max_norm": MAX_NORM,
        "lrs": lrs,
        "clip_scales": clip_scales,
        "tensors": [{"name": t["name"], "shape": list(t["value"].shape), "lr_scale": t["lr_scale"],
                     "mask": floats(t["mask"]) if t["mask"] is not None else None,
                     "initial": floats(t["value"]), "final": floats(final[i])}
                    for i, t in enumerate(tensors)],
        "grads": [[floats(g) for g in step] for step in grads],
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "adamw_golden.json")
