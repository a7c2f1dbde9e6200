"""Evaluator score against CPU time for one Fashion-MNIST training run (the image-pair study).

    python -m benchmarks.image_pair --loss nonsaturating --pair image-small --steps 8000 \
        --eval-every 1000 --out notebooks/results/image-pair/curves.csv [--lr 2e-4] \
        [--ema 0.999] [--threads 1] [--seed 0] [--no-batchnorm] [--samples DIR]

Trains one run with ``train.fit`` and, every ``--eval-every`` generator steps, scores the
generator (the moving average of its weights with ``--ema`` > 0) with ``ganlib.evaluate``
on 10,000 samples. Each evaluation appends a row to ``--out``: the settings, the step, the
process CPU seconds and wall seconds spent training so far (evaluations excluded), and the
evaluator's metrics. ``--samples DIR`` also stores 1,000 samples of the final generator as
uint8 (``DIR/<run>.npz``). The curve of FD and recall against CPU-minutes is what chooses
the ``cpu`` profile's image pair and budget.
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import time
from pathlib import Path

import torch

from benchmarks.epoch import machine
from ganlib import config, data, models, settings, train
from ganlib.evaluator import evaluate
from ganlib.sweep import save_images

FIELDS = ("pair", "loss", "lr", "betas", "ema", "scored", "batchnorm", "seed", "threads", "step",
          "d_updates", "cpu_s", "wall_s", "fd", "precision", "recall", "class_coverage",
          "class_kl", "confidence", "n", "device")


def append(out: Path, row: dict) -> None:
    new = not out.exists()
    with out.open("a", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loss", default="nonsaturating")
    ap.add_argument("--pair", default="image-small", choices=("image", "image-small"))
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--beta1", type=float, default=None)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--no-batchnorm", action="store_true", help="no BatchNorm in D")
    ap.add_argument("--out", required=True)
    ap.add_argument("--samples", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    objective = settings.objective(args.loss, "fashion-mnist")
    lr = objective.lr if args.lr is None else args.lr
    betas = objective.betas
    if args.beta1 is not None:
        betas = (args.beta1, betas[1])
    images = data.fashion_mnist()
    batchnorm = not args.no_batchnorm and args.loss not in ("wgan-gp", "dragan", "r1")
    config.seed_everything(args.seed)
    G, D = models.pair(args.pair, batchnorm=batchnorm)
    G_ema = copy.deepcopy(G) if args.ema else None
    scored = G_ema if G_ema is not None else G
    spent = {"cpu": 0.0, "wall": 0.0}
    clock = {"cpu": time.process_time(), "wall": time.perf_counter()}
    name = (f"{args.pair}-{args.loss}-lr{lr:g}-b{betas[0]:g}-ema{args.ema:g}"
            f"-bn{int(batchnorm)}-s{args.seed}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def score(step: int) -> None:
        if step % args.eval_every and step != args.steps:
            return
        spent["cpu"] += time.process_time() - clock["cpu"]
        spent["wall"] += time.perf_counter() - clock["wall"]
        for which, net in (("ema", G_ema), ("G", G)):
            if net is None:
                continue
            with torch.random.fork_rng():
                m = evaluate(net, n=10_000, seed=args.seed, latent=objective.latent)
            row = {"pair": args.pair, "loss": args.loss, "lr": lr,
                   "betas": f"{betas[0]},{betas[1]}", "ema": args.ema, "scored": which,
                   "batchnorm": int(batchnorm), "seed": args.seed, "threads": args.threads,
                   "step": step, "d_updates": step * objective.n_critic,
                   "cpu_s": round(spent["cpu"], 1), "wall_s": round(spent["wall"], 1),
                   **{k: round(getattr(m, k), 4) for k in ("fd", "precision", "recall",
                                                           "class_coverage", "class_kl",
                                                           "confidence")},
                   "n": m.n, "device": machine(torch.device("cpu"))}
            append(out, row)
            print(f"{name} {which} step {step}: cpu {row['cpu_s']:.0f} s, FD {row['fd']:.1f}, "
                  f"recall {row['recall']:.3f}, classes {row['class_coverage']:.1f}",
                  flush=True)
        clock["cpu"], clock["wall"] = time.process_time(), time.perf_counter()

    if out.exists() and out.read_text().splitlines()[0].split(",") != list(FIELDS):
        raise SystemExit(f"{out} has other columns than {FIELDS}: write to a new file")
    train.fit(G, D, objective, images, steps=args.steps, batch_size=args.batch, lr=lr,
              betas=betas, seed=args.seed, ema=G_ema, ema_decay=args.ema or 0.999,
              callback=score, progress=False, log_every=100)
    if args.samples:
        save_images(Path(args.samples) / f"{name}.npz", scored, objective, args.seed,
                    conditional=False)


if __name__ == "__main__":
    os.environ.setdefault("GANLIB_PROGRESS", "0")
    main()
