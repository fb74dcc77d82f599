"""Times W1-W4 of examples/workloads.rs in JAX (jax.jit of the whole training step: forward,
loss, gradients, optimizer update, running statistics), from the same initial weights and the
same data, and checks that the first step's loss agrees with gradc's.

    GRADC_SAVE_WORKLOADS=/tmp/wl cargo run --release --example workloads   # weights + losses
    taskset -c 0 python3 tools/time_workloads_jax.py /tmp/wl 1              # one thread
    taskset -c 0,1 python3 tools/time_workloads_jax.py /tmp/wl 2            # two threads

Needs `pip install jax safetensors numpy`. The thread count is set through XLA_FLAGS before
jax is imported (the process should also be pinned with taskset, as above).
"""

import os
import sys
import time

THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
if THREADS == 1:
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

EPS = 1e-5
MOMENTUM = 0.1


def data(batch, width):
    r = np.arange(batch)[:, None]
    c = np.arange(width)[None, :]
    x = ((r * 31 + c * 7) % 97).astype(np.float32) / np.float32(97.0) - np.float32(0.5)
    return jnp.asarray(x), jnp.asarray(np.arange(batch) % 10)


def layers(name, params):
    """The layer sequence of each workload: ('dense', prefix), ('bn', prefix), ('relu',)."""
    if name == "W3":
        seq = []
        for i in range(20):
            seq += [("dense", f"body.{i}.0"), ("bn", f"body.{i}.1"), ("relu",)]
        return seq + [("dense", "out")]
    bn = name == "W2"
    seq = []
    for i in (1, 2):
        seq.append(("dense", f"fc{i}"))
        if bn:
            seq.append(("bn", f"bn{i}"))
        seq.append(("relu",))
    return seq + [("dense", "out")]


def forward(seq, trainable, buffers, x):
    new_buffers = {}
    for layer in seq:
        if layer[0] == "dense":
            p = layer[1]
            x = x @ trainable[p + ".weight"].T + trainable[p + ".bias"]
        elif layer[0] == "bn":
            p = layer[1]
            mean = x.mean(axis=0)
            var = ((x - mean) ** 2).mean(axis=0)
            n = x.shape[0]
            x = (x - mean) / jnp.sqrt(var + EPS) * trainable[p + ".weight"] + trainable[p + ".bias"]
            new_buffers[p + ".running_mean"] = (1 - MOMENTUM) * buffers[p + ".running_mean"] + MOMENTUM * mean
            new_buffers[p + ".running_var"] = (1 - MOMENTUM) * buffers[p + ".running_var"] + MOMENTUM * var * n / (
                n - 1
            )
        else:
            x = jax.nn.relu(x)
    return x, new_buffers


def loss_fn(trainable, buffers, seq, x, labels):
    logits, new_buffers = forward(seq, trainable, buffers, x)
    logp = jax.nn.log_softmax(logits)
    return -jnp.take_along_axis(logp, labels[:, None], axis=1).mean(), new_buffers


def make_step(seq, optimizer):
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def step(trainable, buffers, state, x, labels):
        (loss, new_buffers), grads = grad_fn(trainable, buffers, seq, x, labels)
        if optimizer == "adam":
            lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
            t = state["t"] + 1
            m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
            v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
            c1, c2 = 1 - b1**t, 1 - b2**t
            trainable = jax.tree.map(lambda p, m, v: p - (lr / c1) * m / (jnp.sqrt(v) / jnp.sqrt(c2) + eps), trainable, m, v)
            state = {"t": t, "m": m, "v": v}
        else:
            lr, beta = 0.01, 0.9
            b = jax.tree.map(lambda b, g: beta * b + g, state["b"], grads)
            trainable = jax.tree.map(lambda p, b: p - lr * b, trainable, b)
            state = {"b": b}
        return loss, trainable, {**buffers, **new_buffers}, state

    return jax.jit(step, donate_argnums=(0, 1, 2))


def run(directory, name, batch, width, optimizer, steps):
    tensors = load_file(os.path.join(directory, f"{name}.safetensors"))
    trainable = {k: jnp.asarray(v) for k, v in tensors.items() if k.endswith(".weight") or k.endswith(".bias")}
    buffers = {k: jnp.asarray(v) for k, v in tensors.items() if "running" in k}
    zeros = jax.tree.map(jnp.zeros_like, trainable)
    if optimizer == "adam":
        state = {"t": jnp.asarray(0.0, jnp.float32), "m": zeros, "v": jax.tree.map(jnp.zeros_like, trainable)}
    else:
        state = {"b": zeros}
    seq = layers(name, tensors)
    step = make_step(seq, optimizer)
    x, labels = data(batch, width)
    loss, trainable, buffers, state = step(trainable, buffers, state, x, labels)
    first = float(loss)
    for _ in range(3):
        loss, trainable, buffers, state = step(trainable, buffers, state, x, labels)
    loss.block_until_ready()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(steps):
            loss, trainable, buffers, state = step(trainable, buffers, state, x, labels)
        loss.block_until_ready()
        times.append((time.perf_counter() - start) / steps)
    times.sort()
    return first, 1.0 / times[2]


def main():
    directory = sys.argv[1]
    print(f"jax {jax.__version__}, {THREADS} thread(s)")
    for name, batch, width, optimizer, steps in [
        ("W1", 128, 784, "adam", 20),
        ("W2", 128, 784, "adam", 20),
        ("W3", 256, 64, "adam", 20),
        ("W4", 256, 1024, "momentum", 3),
    ]:
        first, rate = run(directory, name, batch, width, optimizer, steps)
        print(f"{name} first-step loss {first:.7f}  {rate:7.1f} steps/s")


if __name__ == "__main__":
    main()
