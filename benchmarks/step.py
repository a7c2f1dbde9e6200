"""Milliseconds per training step, each beside its arithmetic floor (``benchmarks/floor.py``).

    python -m benchmarks.step [--losses nonsaturating,wgan-gp] [--kind 2d|image|image-small]
                              [--steps 2000] [--repeats 3] [--seeds 5]
                              [--channels-last auto|on|off] [--pytorch-layers]
                              [--device cpu|cuda]

For each loss: ``train.fit`` for ``--steps`` generator steps (each with the loss's
``n_critic`` discriminator steps) on ring8 (batch 256) or Fashion-MNIST (batch 64), on the
networks the loss trains with, ``--repeats`` times from fresh networks; the median time
per generator step is printed beside the floor (the step's matrix-product FLOPs over the
rate this process measures for the pair's largest product, just before and after).
``--seeds K`` (2-D only) also times K seeds trained together by ``ensemble.fit_many``
against K ``fit`` runs one after another. ``--pytorch-layers`` also times the networks with
PyTorch's layers in place of ``ganlib.convs``' (the same weights), interleaved. Times are
process CPU time on a CPU and wall time on a GPU (``--device cuda``; ``fit`` then replays
each step as a CUDA graph, and the floor is that device's product rate). On a CPU (one
torch thread unless ``--threads``) on a shared machine, pin the
process to one core (``taskset -c 1``) and read the load printed with the numbers.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np
import torch

from benchmarks.epoch import LAYOUTS, machine
from benchmarks.floor import describe, largest_product, matmul_rate, step_flops
from ganlib import config, convs, data, ensemble, losses, train


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _source(kind: str, device: torch.device):
    return data.ring8(device=device) if kind == "2d" else data.fashion_mnist(device=device)


def _fit(name: str, kind: str, source, steps: int, batch: int, seed: int = 0,
         channels_last: bool | None = None, pytorch_layers: bool = False) -> None:
    torch.manual_seed(seed)
    G, D = (m.to(source.device) for m in losses.make_models(name, kind))
    if pytorch_layers:
        G, D = convs.with_pytorch_layers(G), convs.with_pytorch_layers(D)
    objective = losses.get(name)
    train.fit(G, D, objective, source, steps=steps, batch_size=batch, seed=seed,
              progress=False, channels_last=channels_last, conditional=objective.conditional)


def _timed(fn) -> np.ndarray:
    t0 = np.array([time.perf_counter(), time.process_time()])
    fn()
    return np.array([time.perf_counter(), time.process_time()]) - t0


def time_fit(name: str, kind: str, source, steps: int, batch: int, repeats: int,
             channels_last: bool | None = None, pytorch_layers: bool = False) -> np.ndarray:
    """Median (wall, CPU) seconds per generator step over ``repeats`` runs."""
    fit = functools.partial(_fit, name, kind, source, batch=batch, channels_last=channels_last,
                            pytorch_layers=pytorch_layers)
    fit(5)  # warm-up, untimed
    times = [_timed(lambda: fit(steps)) for _ in range(repeats)]
    return np.median(times, axis=0) / steps


def time_layers(name: str, kind: str, source, steps: int, batch: int, repeats: int,
                channels_last: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Median (wall, CPU) seconds per generator step with ``ganlib.convs``' layers and with
    the PyTorch layers they stand for, the runs interleaved so that both see the same load."""
    runs = {False: [], True: []}
    for _ in range(repeats):
        for pytorch in runs:
            runs[pytorch].append(time_fit(name, kind, source, steps, batch, 1, channels_last,
                                          pytorch))
    return np.median(runs[False], axis=0), np.median(runs[True], axis=0)


def time_ensemble(name: str, source, steps: int, batch: int, k: int,
                  repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Median (wall, CPU) seconds per step of K runs: ``fit_many`` and K ``fit`` in a row."""
    def batched():
        ensemble.fit_many(losses.get(name), list(range(k)), source, steps=steps,
                          batch_size=batch, progress=False)

    def sequential():
        for s in range(k):
            _fit(name, "2d", source, steps, batch, seed=s)

    ensemble.fit_many(losses.get(name), list(range(k)), source, steps=3, batch_size=batch,
                      progress=False)
    together = np.median([_timed(batched) for _ in range(repeats)], axis=0) / steps
    apart = np.median([_timed(sequential) for _ in range(repeats)], axis=0) / steps
    return together, apart


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--losses", default="nonsaturating,wgan-gp")
    parser.add_argument("--kind", default="2d", choices=["2d", "image", "image-small"])
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=0,
                        help="also time this many seeds batched against sequential (2-D)")
    parser.add_argument("--batch", type=int, default=None, help="default: 256 (2-D), 64")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), cuda, cuda:N or mps; on a GPU the times "
                             "are wall times")
    parser.add_argument("--channels-last", choices=list(LAYOUTS), default="auto",
                        help="convolution weights channels-last (auto: fit's default, on a CPU)")
    parser.add_argument("--pytorch-layers", action="store_true",
                        help="also time the networks with PyTorch's layers in place of "
                             "ganlib.convs' (interleaved runs)")
    args = parser.parse_args(argv)
    names = args.losses.split(",")
    if unknown := [n for n in names if n not in losses.names()]:
        parser.error(f"unknown losses {unknown}; choose from {', '.join(losses.names())}")
    if min(args.steps, args.repeats) < 1 or args.seeds < 0:
        parser.error("--steps and --repeats must be positive, --seeds not negative")
    if args.seeds and args.kind != "2d":
        parser.error("--seeds batches the 2-D pair only")
    torch.set_num_threads(args.threads)
    os.environ["GANLIB_PROGRESS"] = "0"
    try:
        device = config.get_device(args.device)
    except ValueError as e:
        parser.error(str(e))
    source = _source(args.kind, device)
    clock = 1 if device.type == "cpu" else 0  # process CPU time on a CPU, else wall time
    clock_name = "CPU" if clock else "wall"
    batch = args.batch or (256 if args.kind == "2d" else 64)
    shape = largest_product(list(losses.make_models(names[0], args.kind)), batch)

    print(f"device: {machine(device)}; {load()}")
    rate = matmul_rate(*shape, device=device)
    print(f"matmul {shape[0]}x{shape[1]} @ {shape[1]}x{shape[2]}: {rate / 1e9:.1f} GFLOP/s")
    for name in names:
        flops = step_flops(functools.partial(_fit, name, args.kind, source, batch=batch))
        if args.pytorch_layers:  # the library's layers timed once, interleaved with PyTorch's
            t, theirs = time_layers(name, args.kind, source, args.steps, batch, args.repeats,
                                    LAYOUTS[args.channels_last])
        else:
            t = time_fit(name, args.kind, source, args.steps, batch, args.repeats,
                         LAYOUTS[args.channels_last])
        floor = flops / rate
        print(f"{name}: {flops / 1e9:.3f} GFLOP per generator step; {args.steps} steps x "
              f"{args.repeats}: {clock_name} {describe(t[clock], floor)}, wall "
              f"{t[0] * 1e3:.2f} ms")
        if args.pytorch_layers:
            print(f"  with PyTorch's layers in place of ganlib.convs' (runs interleaved with "
                  f"the above): {clock_name} {describe(theirs[clock], floor)}; "
                  f"{theirs[clock] / t[clock]:.2f}x")
        if args.seeds:
            together, apart = time_ensemble(name, source, args.steps, batch, args.seeds,
                                            args.repeats)
            k_floor = args.seeds * floor
            print(f"  {args.seeds} seeds per step: fit_many {clock_name} "
                  f"{describe(together[clock], k_floor)}; {args.seeds} x fit {clock_name} "
                  f"{describe(apart[clock], k_floor)}; speed-up "
                  f"{apart[clock] / together[clock]:.2f}x (wall {apart[0] / together[0]:.2f}x)")
    rate_after = matmul_rate(*shape, device=device)
    print(f"matmul again: {rate_after / 1e9:.1f} GFLOP/s; {load()}")


if __name__ == "__main__":
    main()
