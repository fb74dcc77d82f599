"""Times PyTorch eager on cnn-small (examples/cnn_small.rs): the same network, batch 64, Adam,
f32, the median of 20 steps after 5 warm-up steps, on 1 thread and on every core.

    pip install torch && python3 tools/time_cnn_small_torch.py
"""
import statistics
import time

import torch
from torch import nn


def network():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def time_steps(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = network()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.tensor([[((r * 31 + c * 17) % 97) / 97.0 - 0.5 for c in range(28 * 28)] for r in range(64)])
    x = x.reshape(64, 1, 28, 28)
    y = torch.tensor([r % 10 for r in range(64)])
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for step in range(25):
        start = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        if step >= 5:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    print(f"PyTorch {torch.__version__} eager, cnn-small, batch 64, Adam, f32 (median of 20 steps)")
    for threads in (1, torch.get_num_threads()):
        t = time_steps(threads)
        print(f"{threads} thread(s): {t * 1e3:8.2f} ms/step {1 / t:8.1f} steps/s")
