#!/usr/bin/env python3
"""Writes the pretrained-weights fixture that tests/transfer_pytorch.rs loads into gradc: a
small PyTorch network with batch norm, trained on the embedded digits of classes 0-4, saved as
its state_dict (float32, under a `backbone.` prefix with a `head`), and the evaluation-mode
hidden features it computes for a few digits of classes 5-9.

    pip install torch safetensors
    python3 tools/make_transfer_fixture.py      # writes tests/fixtures/transfer/

The backbone must match the `network!` declarations in tests/transfer_pytorch.rs.
"""
import gzip
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "transfer"


def digits():
    rows = [line.split(",") for line in gzip.open(ROOT / "runtime" / "data" / "digits.csv.gz", "rt") if line.strip()]
    x = torch.tensor([[float(v) / 16.0 for v in row[:-1]] for row in rows], dtype=torch.float32)
    y = torch.tensor([int(row[-1]) for row in rows])
    return x, y


def main():
    torch.manual_seed(0)
    x, y = digits()
    source = y < 5
    xs, ys = x[source], y[source]
    model = nn.Sequential(OrderedDict([
        ("backbone", nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(64, 32)), ("bn1", nn.BatchNorm1d(32)), ("act1", nn.ReLU()),
            ("fc2", nn.Linear(32, 16)), ("act2", nn.ReLU()),
        ]))),
        ("head", nn.Linear(16, 5)),
    ]))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(10):
        order = torch.randperm(len(xs))
        for start in range(0, len(xs), 32):
            batch = order[start:start + 32]
            if len(batch) < 2:
                continue
            opt.zero_grad()
            loss_fn(model(xs[batch]), ys[batch]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(xs).argmax(1) == ys).float().mean().item()
        target = x[~source][:20]
        # In float64, so the comparison measures semantics rather than float32 rounding.
        features = model.backbone.double()(target.double())
    OUT.mkdir(parents=True, exist_ok=True)
    model.float()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, OUT / "digits04.safetensors")
    save_file({"inputs": target.contiguous(), "features": features.contiguous()}, OUT / "digits59_features.safetensors")
    print(f"source accuracy {accuracy:.4f}; wrote {OUT}")


if __name__ == "__main__":
    main()
