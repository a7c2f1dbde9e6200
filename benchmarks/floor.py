"""The arithmetic floor of a training step: its matrix-product FLOPs over the rate at which
this machine multiplies matrices, so every measured time can be printed beside it.

``step_flops`` counts the FLOPs of every matrix product and convolution a callable runs,
forward and backward (``torch.utils.flop_counter``); ``matmul_rate`` measures the GFLOP/s
of one ``torch.mm`` of a given shape in this process, on the same core and threads.
``floor_seconds = flops / rate``: no loop, however tight, runs the products faster.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry


class _Counter(TorchDispatchMode):
    """Adds up the FLOPs of the products it sees (``torch.utils.flop_counter``'s formulas;
    its own ``FlopCounterMode`` tracks modules with hooks that ``autograd.grad``, which the
    gradient penalties call, does not support)."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.flops += count(*args, **kwargs, out_val=out)
        return out


def step_flops(run: Callable[[int], object]) -> float:
    """FLOPs of one step: ``run(2)`` minus ``run(1)``, so set-up and final sampling cancel."""
    counts = []
    for n in (1, 2):
        with _Counter() as counter:
            run(n)
        counts.append(counter.flops)
    return float(counts[1] - counts[0])


def matmul_rate(m: int, k: int, n: int, device: torch.device | str = "cpu",
                repeats: int = 5, seconds: float = 0.2) -> float:
    """Median FLOP/s of ``(m, k) @ (k, n)`` over ``repeats`` timings of about ``seconds`` each
    (process CPU time on a CPU, which a shared machine's other jobs do not inflate)."""
    device = torch.device(device)
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    flops = 2.0 * m * k * n
    for _ in range(10):
        a @ b
    reps = max(1, int(seconds / max(_time(lambda: a @ b, 10, device) / 10, 1e-7)))
    rates = [flops * reps / _time(lambda: a @ b, reps, device) for _ in range(repeats)]
    return float(np.median(rates))


def _time(fn: Callable, n: int, device: torch.device) -> float:
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = clock()
    for _ in range(n):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return clock() - t0


def largest_product(nets: list[nn.Module], batch: int) -> tuple[int, int, int]:
    """``(batch, in, out)`` of the largest ``nn.Linear`` in ``nets``: the shape whose rate
    stands for the pair's (the 2-D pair's 128 x 128 layers, the image pair's FC 1024)."""
    layers = [m for net in nets for m in net.modules() if isinstance(m, nn.Linear)]
    big = max(layers, key=lambda m: m.in_features * m.out_features)
    return batch, big.in_features, big.out_features


def describe(seconds: float, floor: float) -> str:
    """``"8.10 ms (floor 2.50 ms, 3.2x)"``."""
    return f"{seconds * 1e3:8.2f} ms (floor {floor * 1e3:.2f} ms, {seconds / floor:.1f}x)"
