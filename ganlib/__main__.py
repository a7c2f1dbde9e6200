"""Command line for ganlib.

  python -m ganlib losses                    list the registered losses
  python -m ganlib train --loss NAME ...     train one loss with ganlib.train.fit, writing the
                                             checkpoint, history.json and sample PNGs to --out
  python -m ganlib sweep --grid GRID.json --shard i/n --out DIR
                                             run shard i of n of a grid of runs (ganlib.sweep);
                                             a rerun skips the cells already in DIR
  python -m ganlib sweep --merge DIR --to results.csv
                                             merge the shards' CSVs into one
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ganlib import config, data, losses, models, train

DATASETS = {"ring8": "2d", "grid25": "2d", "fashion-mnist": "image"}


def _networks(loss: str, kind: str, **kw) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The networks the loss is trained with (the loss registry knows, where it can say)."""
    make_models = getattr(losses, "make_models", None)
    return make_models(loss, kind, **kw) if make_models is not None else models.pair(kind, **kw)


def _save_samples(history: train.History, source, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganlib import plots

    written = []
    for step, x in sorted(history.samples.items()):
        fig, ax = plt.subplots(figsize=(4, 4))
        title = f"{history.loss}, step {step}"
        if x.dim() == 4:
            plots.sample_grid(x, ax=ax, title=title)
        else:
            plots.scatter_2d(x, source, ax=ax, title=title)
        path = out / f"samples_{step:06d}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path.name)
    return written


def _train(args, parser: argparse.ArgumentParser) -> int:
    if args.loss not in losses.names():
        parser.error(f"unknown loss {args.loss!r}; choose from: {', '.join(losses.names())}")
    for name in ("steps", "batch", "checkpoint_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    if args.resume and not checkpoint.exists():
        parser.error(f"--resume: no checkpoint at {checkpoint}")
    try:
        device = config.get_device(args.device)
        kind = DATASETS[args.data]
        if kind == "2d":
            source = data.MIXTURES[args.data](device=device)
        else:
            source = data.fashion_mnist("train", root=args.root, device=device)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.error(str(e))
    # InfoGAN's codes and Q head depend on the kind of data; conditional losses need one
    # class per mode of the data (grid25 has 25)
    objective = (losses.get(args.loss, kind=kind, device=device) if args.loss == "infogan"
                 else losses.get(args.loss))
    net_kw = {"n_classes": len(source.centers)} if objective.conditional and kind == "2d" else {}
    config.seed_everything(args.seed)
    G, D = (m.to(device) for m in _networks(args.loss, kind, **net_kw))
    batch = args.batch or (256 if kind == "2d" else 64)
    out.mkdir(parents=True, exist_ok=True)
    try:
        history = train.fit(G, D, objective, source, steps=args.steps, batch_size=batch,
                            seed=args.seed, conditional=objective.conditional,
                            sample_every=max(1, args.steps // 4), checkpoint=checkpoint,
                            checkpoint_every=args.checkpoint_every,
                            resume=checkpoint if args.resume else None)
    except ValueError as e:  # a checkpoint from another loss, network or format
        parser.error(str(e))
    history.save_json(out / "history.json")
    summary = {"loss": args.loss, "data": args.data, "steps": args.steps, "seed": args.seed,
               "seconds": history.seconds, "device": str(device), "path": history.path,
               "out": str(out), "samples": _save_samples(history, source, out)}
    if kind == "2d":
        from ganlib.metrics import mode_metrics

        y = torch.arange(10_000, device=device) % G.n_classes if G.n_classes else None
        samples = train.generate(G, 10_000, y=y, latent=objective.latent)
        summary.update(mode_metrics(samples, source).as_dict())
    print(json.dumps(summary, indent=1))
    return 0


def _sweep(args, parser: argparse.ArgumentParser) -> int:
    from ganlib import sweep

    if (args.grid is None) == (args.merge is None):
        parser.error("give either --grid GRID.json (run a shard) or --merge DIR --to CSV")
    if args.merge is not None:
        if args.to is None:
            parser.error("--merge needs --to CSV, the merged file to write")
        if not sweep.read_rows(Path(args.merge)):
            parser.error(f"--merge: no shard CSVs with rows under {args.merge}")
        dest = sweep.merge(args.merge, args.to)
        print(f"{len(sweep.read_rows(dest))} cells merged into {dest}")
        return 0
    try:
        shard = sweep.parse_shard(args.shard)
        grid = sweep.load_grid(args.grid)
        sweep.expand(grid)  # checks the grid before any run starts
        device = config.get_device(args.device)
    except FileNotFoundError:
        parser.error(f"--grid: no such file {args.grid}")
    except json.JSONDecodeError as e:
        parser.error(f"--grid {args.grid} is not valid JSON: {e}")
    except (ValueError, RuntimeError) as e:
        parser.error(str(e))
    path = sweep.run(grid, args.out, shard=shard, device=device)
    print(f"shard {args.shard} written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    epilog = (f"losses: {', '.join(losses.names())}\n"
              f"datasets: {', '.join(DATASETS)}")
    parser = argparse.ArgumentParser(prog="ganlib", description=__doc__, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("losses", help="list the registered losses")
    t = sub.add_parser("train", help="train one loss on one dataset", epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--loss", required=True, help="a loss name (listed below)")
    t.add_argument("--data", default="ring8", choices=list(DATASETS))
    t.add_argument("--steps", type=int, default=2_000, help="generator steps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch", type=int, default=None, help="default: 256 (2-D), 64 (images)")
    t.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    t.add_argument("--root", default=None, help="directory holding the Fashion-MNIST IDX files")
    t.add_argument("--out", default="runs/latest",
                   help="directory for checkpoint.pt, history.json and samples_*.png")
    t.add_argument("--checkpoint-every", type=int, default=1_000)
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt up to --steps")
    w = sub.add_parser("sweep", help="run one shard of a grid of runs, or merge the shards",
                       description=(
                           "A grid is a JSON object whose list values are crossed, e.g. "
                           '{"loss": ["nonsaturating", "wgan-gp"], "data": "ring8", '
                           '"seed": [0, 1, 2], "steps": 10000}. Shard i of n runs cells i, '
                           "i+n, ...; on a cluster array job use --shard "
                           "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT."))
    w.add_argument("--grid", help="the grid, a JSON file (keys: loss, data, seed, steps, "
                   "batch, lr, n_eval)")
    w.add_argument("--shard", default="0/1", help="i/n: run every n-th cell from cell i")
    w.add_argument("--out", default="runs/sweep",
                   help="directory for the shard CSVs (and 2-D samples); reruns skip done cells")
    w.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    w.add_argument("--merge", metavar="DIR", help="merge the shard CSVs under DIR ...")
    w.add_argument("--to", metavar="CSV", help="... into this CSV")
    args = parser.parse_args(argv)
    if args.command == "losses":
        print("\n".join(losses.names()))
        return 0
    if args.command == "sweep":
        return _sweep(args, w)
    return _train(args, t)


if __name__ == "__main__":
    sys.exit(main())
