#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures that tests/torch_reference.rs checks gradc against.

For each case: <case>.weights.safetensors holds the initial state_dict (loaded by gradc's
strict `load`), and <case>.data.safetensors holds the batch, the targets, the training-mode
logits, loss and gradients of one pass, the evaluation-mode output before and after, and the
whole state_dict (batch-norm running statistics included) after STEPS steps of SGD on that
batch.

    pip install torch safetensors
    python3 tools/make_fixtures.py          # writes tests/fixtures/

The networks here must match the `network!` declarations in tests/torch_reference.rs.
"""
import copy
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
STEPS = 3
LR = 0.1
BATCH = 8


def prelu_softmax_ce():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 5)), ("act1", nn.PReLU()),
        ("fc2", nn.Linear(5, 4)), ("act2", nn.Tanh()),
        ("out", nn.Linear(4, 3)),
    ])), "softmax_cross_entropy", 6


def gelu_prelu_bce():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(5, 6)), ("act1", nn.GELU()),
        ("fc2", nn.Linear(6, 4)), ("act2", nn.PReLU(num_parameters=4, init=0.1)),
        ("out", nn.Linear(4, 3)),
    ])), "binary_cross_entropy", 5


def selu_elu_silu_leaky_mse():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(4, 6)), ("act1", nn.SELU()),
        ("fc2", nn.Linear(6, 5)), ("act2", nn.ELU(alpha=0.5)),
        ("fc3", nn.Linear(5, 5)), ("act3", nn.SiLU()),
        ("fc4", nn.Linear(5, 4)), ("act4", nn.LeakyReLU(0.05)),
        ("out", nn.Linear(4, 2)),
    ])), "mse", 4


def sigmoid_gelu_tanh_relu_ce():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(5, 7)), ("act1", nn.Sigmoid()),
        ("fc2", nn.Linear(7, 6)), ("act2", nn.GELU(approximate="tanh")),
        ("fc3", nn.Linear(6, 5)), ("act3", nn.ReLU()),
        ("out", nn.Linear(5, 4)),
    ])), "softmax_cross_entropy", 5


def batch_norm_ce():
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 8)), ("bn1", nn.BatchNorm1d(8)), ("act1", nn.ReLU()),
        ("fc2", nn.Linear(8, 5)), ("bn2", nn.BatchNorm1d(5, momentum=0.2, eps=1e-3)), ("act2", nn.Tanh()),
        ("out", nn.Linear(5, 3)),
    ])), "softmax_cross_entropy", 6


def loss_fn(kind):
    return {
        "softmax_cross_entropy": nn.CrossEntropyLoss(),
        "binary_cross_entropy": nn.BCEWithLogitsLoss(),
        "mse": nn.MSELoss(),
    }[kind]


def write(name, make, seed):
    torch.manual_seed(seed)
    model, kind, width = make()
    out_width = list(model.children())[-1].out_features
    x = torch.randn(BATCH, width)
    if kind == "softmax_cross_entropy":
        targets = torch.randint(0, out_width, (BATCH,))
        data = {"labels": targets.to(torch.int64)}
    elif kind == "binary_cross_entropy":
        targets = torch.rand(BATCH, out_width)
        data = {"targets": targets}
    else:
        targets = torch.randn(BATCH, out_width)
        data = {"targets": targets}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, OUT / f"{name}.weights.safetensors")

    criterion = loss_fn(kind)
    # Gradients of one training-mode pass, on a copy: its forward moves batch-norm running
    # statistics, which gradc's loss_and_grads leaves alone.
    probe = copy.deepcopy(model)
    model.eval()
    data["eval_logits_before"] = model(x).detach()
    model.train()
    logits = probe(x)
    loss = criterion(logits, targets)
    loss.backward()
    data.update({"x": x, "logits": logits.detach(), "loss": loss.detach().reshape([])})
    for k, p in probe.named_parameters():
        data[f"grad.{k}"] = p.grad.detach().clone()

    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    for _ in range(STEPS):
        optimizer.zero_grad()
        criterion(model(x), targets).backward()
        optimizer.step()
    for k, v in model.state_dict().items():
        data[f"after.{k}"] = v.detach().clone()
    model.eval()
    data["eval_logits_after"] = model(x).detach()
    save_file({k: v.contiguous() for k, v in data.items()}, OUT / f"{name}.data.safetensors",
              metadata={"steps": str(STEPS), "lr": str(LR), "torch": torch.__version__})
    print(f"{name}: loss {loss.item():.6f}")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write("prelu_softmax_ce", prelu_softmax_ce, 1)
    write("gelu_prelu_bce", gelu_prelu_bce, 2)
    write("selu_elu_silu_leaky_mse", selu_elu_silu_leaky_mse, 3)
    write("sigmoid_gelu_tanh_relu_ce", sigmoid_gelu_tanh_relu_ce, 4)
    write("batch_norm_ce", batch_norm_ce, 5)
