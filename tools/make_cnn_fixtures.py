#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for image and residual networks that
tests/torch_reference_cnn.rs checks gradc against, in float64 with three Adam steps.

For each case: <case>.weights.safetensors holds the initial state_dict (loaded by gradc's
strict `load`), and <case>.data.safetensors holds the batch (images flattened to rows in NCHW
order, as gradc takes them), the targets, the training-mode loss and gradients of one pass, the
evaluation-mode output before and after, and the whole state_dict (batch-norm running
statistics included) after STEPS Adam steps on that batch.

    pip install torch safetensors
    python3 tools/make_cnn_fixtures.py      # writes tests/fixtures/cnn/

The networks here must match the `network!` declarations in tests/torch_reference_cnn.rs.
"""
import copy
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cnn"
STEPS = 3
LR = 0.01
BATCH = 5


def conv_bn_pool_ce():
    """Convolution with padding, batch norm over channels, max pool, a grouped, dilated,
    non-square convolution, average pool with padding, flatten, dense."""
    return nn.Sequential(OrderedDict([
        # No bias before the batch norm: it would cancel, and its gradient is rounding noise that
        # Adam scales up to steps of about lr·noise/eps on both sides, which no tolerance can pin.
        ("conv1", nn.Conv2d(2, 4, 3, padding=1, bias=False)), ("bn1", nn.BatchNorm2d(4)), ("act1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(4, 6, (2, 3), padding=(1, 1), dilation=(1, 2), groups=2)), ("act2", nn.Tanh()),
        ("pool2", nn.AvgPool2d(2, stride=1, padding=1)),
        ("flat", nn.Flatten()),
        ("out", nn.Linear(6 * 6 * 3, 3)),
    ])), "softmax_cross_entropy", (2, 9, 8), 3


def same_prelu_gap_bce():
    """`same` padding without bias, batch norm with its own momentum and eps, a depthwise
    dilated convolution with stride 2, per-channel prelu, global average pooling, dense."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 4, 3, padding="same", bias=False)),
        ("bn1", nn.BatchNorm2d(4, momentum=0.2, eps=1e-3)), ("act1", nn.SiLU()),
        ("conv2", nn.Conv2d(4, 4, 3, stride=2, padding=2, dilation=2, groups=4)),
        ("act2", nn.PReLU(num_parameters=4, init=0.2)),
        ("gap", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())),
        ("out", nn.Linear(4, 2)),
    ])), "binary_cross_entropy", (3, 7, 6), 2


class Residual(nn.Module):
    """x + f(x), or P(x) + f(x): the body's layers under their names, then `project`, so the
    state_dict has gradc's names and order (`res1.0.weight`, ..., `res1.project.weight`)."""

    def __init__(self, body, project=None):
        super().__init__()
        self.names = [name for name, _ in body]
        for name, module in body:
            self.add_module(name, module)
        self.project = project

    def forward(self, x):
        y = x
        for name in self.names:
            y = getattr(self, name)(y)
        return y + (x if self.project is None else self.project(x))


def residual_mlp_ce():
    """Residual blocks on features: one with batch norm, one with a dense projection."""
    return nn.Sequential(OrderedDict([
        ("fc", nn.Linear(5, 6)), ("act", nn.Tanh()),
        ("res1", Residual([("fc", nn.Linear(6, 6, bias=False)), ("bn", nn.BatchNorm1d(6)), ("act", nn.ReLU()),
                           ("fc2", nn.Linear(6, 6))])),
        ("res2", Residual([("0", nn.Linear(6, 4)), ("1", nn.ELU())], project=nn.Linear(6, 4, bias=False))),
        ("out", nn.Linear(4, 3)),
    ])), "softmax_cross_entropy", (5,), 3


def residual_cnn_mse():
    """Residual blocks on images: an identity skip around conv/BN/relu/conv, and a strided
    block with a 1×1 convolution projection of stride 2."""
    return nn.Sequential(OrderedDict([
        ("stem", nn.Conv2d(2, 3, 3, padding=1)), ("act", nn.ReLU()),
        ("res1", Residual([("0", nn.Conv2d(3, 3, 3, padding=1, bias=False)), ("1", nn.BatchNorm2d(3)),
                           ("2", nn.ReLU()), ("3", nn.Conv2d(3, 3, 3, padding="same"))])),
        ("res2", Residual([("a", nn.Conv2d(3, 4, 3, stride=2, padding=1)), ("b", nn.Tanh()),
                           ("c", nn.Conv2d(4, 4, 1))], project=nn.Conv2d(3, 4, 1, stride=2, bias=False))),
        ("gap", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())),
        ("out", nn.Linear(4, 2)),
    ])), "mse", (2, 7, 6), 2


def loss_fn(kind):
    return {"softmax_cross_entropy": nn.CrossEntropyLoss(), "binary_cross_entropy": nn.BCEWithLogitsLoss(),
            "mse": nn.MSELoss()}[kind]


def write(name, make, seed):
    torch.manual_seed(seed)
    model, kind, shape, classes = make()
    x = torch.randn(BATCH, *shape)
    if kind == "softmax_cross_entropy":
        targets = torch.randint(0, classes, (BATCH,))
        data = {"labels": targets.to(torch.int64)}
    elif kind == "binary_cross_entropy":
        targets = torch.rand(BATCH, classes)
        data = {"targets": targets}
    else:
        targets = torch.randn(BATCH, classes)
        data = {"targets": targets}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, OUT / f"{name}.weights.safetensors")

    criterion = loss_fn(kind)
    probe = copy.deepcopy(model)
    model.eval()
    data["eval_logits_before"] = model(x).detach()
    model.train()
    loss = criterion(probe(x), targets)
    loss.backward()
    data.update({"x": x.reshape(BATCH, -1), "loss": loss.detach().reshape([])})
    for k, p in probe.named_parameters():
        data[f"grad.{k}"] = p.grad.detach().clone()

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
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
    print(f"{name}: loss {loss.item():.10f}")


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    OUT.mkdir(parents=True, exist_ok=True)
    write("conv_bn_pool_ce", conv_bn_pool_ce, 11)
    write("same_prelu_gap_bce", same_prelu_gap_bce, 12)
    write("residual_mlp_ce", residual_mlp_ce, 13)
    write("residual_cnn_mse", residual_cnn_mse, 14)
