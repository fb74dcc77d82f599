#!/usr/bin/env python3
"""Writes the optimizer reference fixtures that tests/optimizer_reference.rs checks.

For two small networks (one with batch norm, one with prelu) and every optimizer, with and
without clip_norm + l2, in f32 and f64: the initial weights, a batch, and after five steps
the whole state_dict and every optimizer state tensor. PyTorch's optimizers are the
reference; rmsprop with eps inside the root (gradc's default, which PyTorch lacks) is
written out here from its formula in NumPy.

    pip install torch safetensors
    python3 tools/make_optimizer_fixtures.py     # writes tests/fixtures/optimizers/
"""
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optimizers"
STEPS = 5
BATCH = 8
CLIP = 0.5
L2 = 0.01


def batch_norm_net():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(5, 6, bias=False)), ("bn1", nn.BatchNorm1d(6)), ("act1", nn.ReLU()),
        ("out", nn.Linear(6, 3)),
    ]))


def prelu_net():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(5, 6)), ("act1", nn.PReLU()),
        ("out", nn.Linear(6, 2)),
    ]))


NETS = {"bn": (batch_norm_net, "ce"), "prelu": (prelu_net, "mse")}

# name -> (constructor of the torch optimizer or None for the formula, lr, state names)
OPTIMIZERS = {
    "sgd": (lambda p, lr: torch.optim.SGD(p, lr=lr), 0.1, []),
    "momentum": (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), 0.1, ["momentum_buffer"]),
    "nesterov": (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 0.1, ["momentum_buffer"]),
    "rmsprop_torch": (lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.99, eps=1e-8), 0.01, ["square_avg"]),
    "rmsprop": (None, 0.01, ["square_avg"]),
    "adam": (lambda p, lr: torch.optim.Adam(p, lr=lr), 0.01, ["exp_avg", "exp_avg_sq"]),
    "adamw": (lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01), 0.01, ["exp_avg", "exp_avg_sq"]),
}


def rmsprop_eps_inside(params, state, lr, beta=0.9, eps=1e-8):
    """s <- beta s + (1 - beta) g^2;  p <- p - lr g / sqrt(s + eps)  (DESIGN.md), in NumPy."""
    with torch.no_grad():
        for p in params:
            g = p.grad.numpy()
            s = state.setdefault(p, np.zeros_like(g))
            s *= beta
            s += (1 - beta) * g * g
            p.copy_(torch.from_numpy(p.numpy() - lr * g / np.sqrt(s + eps)))


def write(net_name, opt_name, regularized, dtype, seed):
    make, loss_kind = NETS[net_name]
    torch.manual_seed(seed)
    model = make().to(dtype)
    tag = f"{net_name}_{opt_name}_{'reg' if regularized else 'plain'}_{str(dtype).split('.')[-1]}"
    weights = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    x = torch.randn(BATCH, 5, dtype=dtype)
    if loss_kind == "ce":
        targets = torch.randint(0, 3, (BATCH,))
        criterion = nn.CrossEntropyLoss()
    else:
        targets = torch.randn(BATCH, 2, dtype=dtype)
        criterion = nn.MSELoss()
    factory, lr, state_names = OPTIMIZERS[opt_name]
    optimizer = factory(model.parameters(), lr) if factory else None
    formula_state = {}
    for _ in range(STEPS):
        model.zero_grad()
        loss = criterion(model(x), targets)
        if regularized:
            loss = loss + 0.5 * L2 * sum((m.weight ** 2).sum() for m in model if isinstance(m, nn.Linear))
        loss.backward()
        if regularized:
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        if optimizer:
            optimizer.step()
        else:
            rmsprop_eps_inside(list(model.parameters()), formula_state, lr)
    data = {"x": x, "labels" if loss_kind == "ce" else "targets": targets}
    for k, v in model.state_dict().items():
        data[f"after.{k}"] = v.clone()
    for k, p in model.named_parameters():
        state = optimizer.state[p] if optimizer else {"square_avg": torch.from_numpy(formula_state[p])}
        for s in state_names:
            data[f"state.{k}.{s}"] = state[s].clone()
    save_file({k: v.contiguous() for k, v in weights.items()}, OUT / f"{tag}.weights.safetensors")
    save_file({k: v.contiguous() for k, v in data.items()}, OUT / f"{tag}.data.safetensors")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    seed = 10
    for net_name in NETS:
        for opt_name in OPTIMIZERS:
            for regularized in (False, True):
                for dtype in (torch.float32, torch.float64):
                    write(net_name, opt_name, regularized, dtype, seed)
                seed += 1
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")
