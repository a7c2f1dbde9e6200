"""Time to train many 2-D runs: one batched model (``ganlib.ensemble``) against one run after
another (``ganlib.train.fit``).

    python -m benchmarks.sweep2d [--steps 10000] [--seeds 5] [--runs N] [--sequential-runs N]

The book's sweep is 14 losses x 5 seeds = 70 runs of 10,000 steps on ring8 (batch 256). The
losses are the L registered ones that ``fit_many`` can batch on the shared 2-D networks
(the others have networks or steps of their own); run i uses loss ``i mod L`` and seed
``i div L``, L x ``--seeds`` runs unless ``--runs`` says otherwise. ``--steps``/``--runs``
measure less and the result is scaled to ``--target-steps`` x ``--target-runs`` (70);
``--sequential-runs`` times only that many runs one after another and scales by the number
of runs.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.epoch import clock, machine, networks
from benchmarks.floor import largest_product, matmul_rate, step_flops
from ganlib import config, data, ensemble, losses, models, train


def batchable_losses() -> list[str]:
    """Registered losses that ``fit_many`` can train on the shared 2-D pair."""
    reference = {k: v.shape for k, v in models.pair("2d")[0].state_dict().items()}
    reference |= {f"D.{k}": v.shape for k, v in models.pair("2d")[1].state_dict().items()}
    names = []
    for name in losses.names():
        if ensemble.supports(losses.get(name)) is not None:
            continue
        G, D = networks(name, "2d")
        shapes = {k: v.shape for k, v in G.state_dict().items()}
        shapes |= {f"D.{k}": v.shape for k, v in D.state_dict().items()}
        if shapes == reference:
            names.append(name)
    return names


def plan(names: list[str], runs: int) -> list[tuple[str, int]]:
    return [(names[i % len(names)], i // len(names)) for i in range(runs)]


def time_batched(runs: list[tuple[str, int]], mixture, steps: int, batch: int) -> np.ndarray:
    objectives = [losses.get(name) for name, _ in runs]
    t0 = clock(mixture.device)
    ensemble.fit_many(objectives, [s for _, s in runs], mixture, steps=steps, batch_size=batch,
                      progress=False, log_every=100)
    return clock(mixture.device) - t0


def time_sequential(runs: list[tuple[str, int]], mixture, steps: int,
                    batch: int) -> np.ndarray:
    t0 = clock(mixture.device)
    for name, seed in runs:
        torch.manual_seed(seed)
        G, D = (m.to(mixture.device) for m in models.pair("2d"))
        train.fit(G, D, losses.get(name), mixture, steps=steps, batch_size=batch, seed=seed,
                  progress=False, log_every=100)
    return clock(mixture.device) - t0


def floor_seconds(runs: list[tuple[str, int]], mixture, steps: int, batch: int) -> float:
    """Seconds the runs' matrix products take at this machine's rate for the 2-D pair's
    128 x 128 product (``benchmarks/floor.py``)."""
    def one(name: str, n: int) -> None:
        G, D = (m.to(mixture.device) for m in models.pair("2d"))
        train.fit(G, D, losses.get(name), mixture, steps=n, batch_size=batch, progress=False)

    per_step = {name: step_flops(lambda n, name=name: one(name, n)) for name, _ in set(runs)}
    rate = matmul_rate(*largest_product(list(models.pair("2d")), batch), mixture.device)
    return sum(per_step[name] for name, _ in runs) * steps / rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep2d", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--losses", default=None,
                        help="comma-separated loss names (default: every batchable loss)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=None, help="default: losses x seeds")
    parser.add_argument("--sequential-runs", type=int, default=None,
                        help="time only this many runs sequentially (default: all)")
    parser.add_argument("--target-steps", type=int, default=10_000)
    parser.add_argument("--target-runs", type=int, default=70)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    for name in ("steps", "seeds", "runs", "target_steps", "target_runs", "batch"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = config.get_device(args.device)
    mixture = data.ring8(device=device)
    names = batchable_losses()
    if not names:
        parser.error("no registered loss fits the shared 2-D networks")
    if args.losses:
        wanted = args.losses.split(",")
        if unknown := [n for n in wanted if n not in names]:
            parser.error(f"not batchable on the shared 2-D pair: {', '.join(unknown)}; "
                         f"choose from {', '.join(names)}")
        names = wanted
    args.runs = args.runs or len(names) * args.seeds
    runs = plan(names, args.runs)
    n_seq = min(args.sequential_runs or args.runs, args.runs)
    scale = args.target_steps / args.steps

    print(f"device: {machine(device)}")
    print(f"{len(names)} losses ({', '.join(names)}); {args.runs} runs x {args.steps} steps, "
          f"batch {args.batch}; scaled to {args.target_runs} runs x {args.target_steps} steps")
    time_batched(runs[:2], mixture, 3, args.batch)  # warm up both paths, untimed
    time_sequential(runs[:1], mixture, 3, args.batch)
    batched = time_batched(runs, mixture, args.steps, args.batch)
    batched *= scale * args.target_runs / args.runs
    print(f"batched (ganlib.ensemble): {batched[0]:10.1f} s (CPU time {batched[1]:.1f} s)")
    sequential = time_sequential(runs[:n_seq], mixture, args.steps, args.batch)
    sequential *= scale * args.target_runs / n_seq
    print(f"sequential (train.fit):    {sequential[0]:10.1f} s (CPU time {sequential[1]:.1f} s)")
    floor = floor_seconds(runs, mixture, args.steps, args.batch)
    floor *= scale * args.target_runs / args.runs
    print(f"floor (matrix products at this machine's rate): {floor:10.1f} s")
    print(f"speed-up: {sequential[0] / batched[0]:.2f}x "
          f"(CPU time {sequential[1] / batched[1]:.2f}x)")


if __name__ == "__main__":
    main()
