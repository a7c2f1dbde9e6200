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
import tempfile
from pathlib import Path
from typing import NoReturn

import torch

from ganlib import config, data, losses, train

DATASETS = {"ring8": "2d", "grid25": "2d", "fashion-mnist": "image"}
INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C (128 + SIGINT)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and its fix, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def _writable_dir(out: Path, flag: str, parser: argparse.ArgumentParser) -> None:
    """Create ``out`` (and missing parents) and write a file in it, or stop with one line."""
    if out.exists() and not out.is_dir():
        parser.error(f"{flag} {out} is a file; give a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        parser.error(f"{flag} {out} is not a writable directory ({e.strerror}); choose another")


def _run_files(out: Path) -> list[Path]:
    """What ``train`` writes into ``--out``."""
    if not out.is_dir():
        return []
    names = [out / "checkpoint.pt", out / "history.json"]
    return [p for p in names if p.exists()] + sorted(out.glob("samples_*.png"))


def _last_checkpoint(checkpoint: Path, every: int) -> str:
    try:
        step = train.read_checkpoint(checkpoint)["step"]
    except ValueError:
        return f"no checkpoint was written (the first comes at step {every})"
    return f"the last checkpoint is {checkpoint} (step {step}); continue with --resume"


def _train(args, parser: argparse.ArgumentParser) -> int:
    if args.loss not in losses.names():
        parser.error(f"unknown loss {args.loss!r}; choose from: {', '.join(losses.names())}")
    for name in ("steps", "batch", "checkpoint_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if not 0 <= args.seed <= config.SEED_MAX:
        parser.error(f"--seed must be in 0..{config.SEED_MAX}, got {args.seed}")
    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in --out and --overwrite replaces it: "
                     "give one of them")
    if args.resume:
        if not checkpoint.exists():
            parser.error(f"--resume: no checkpoint at {checkpoint}")
        try:
            state = train.read_checkpoint(checkpoint)
        except ValueError as e:
            parser.error(f"--resume: {e}")
    elif _run_files(out) and not args.overwrite:
        parser.error(f"--out {out} already holds a run ({_run_files(out)[0].name}, ...): add "
                     "--resume to continue it, --overwrite to replace it, or choose another --out")
    try:
        device = config.get_device(args.device)
        kind = DATASETS[args.data]
        if kind == "2d":
            source = data.MIXTURES[args.data](device=device)
        else:
            source = data.fashion_mnist("train", root=args.root, device=device)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    batch = (256 if kind == "2d" else 64) if args.batch is None else args.batch
    if args.resume:
        try:
            train.check_resume(checkpoint, state, train.run_record(source, batch), args.steps)
        except ValueError as e:
            parser.error(f"--resume: {e}")
    _writable_dir(out, "--out", parser)
    from ganlib import experiments  # (imports the metrics' optimal-transport solver: slow)

    # seeds before building anything random (InfoGAN's Q head as much as the networks);
    # conditional losses get one class per mode of the data (grid25 has 25)
    objective, (G, D), kw = experiments.setup(
        args.loss, kind, len(source.centers) if kind == "2d" else None, seed=args.seed)
    G, D = G.to(device), D.to(device)
    if args.overwrite:  # only now that everything was checked
        for p in _run_files(out):
            p.unlink()
    try:
        history = train.fit(G, D, objective, source, steps=args.steps, batch_size=batch,
                            seed=args.seed, sample_every=max(1, args.steps // 4),
                            checkpoint=checkpoint, checkpoint_every=args.checkpoint_every,
                            resume=checkpoint if args.resume else None, **kw)
    except ValueError as e:  # a checkpoint from another loss, network, data or batch size
        parser.error(str(e))
    except train.TrainingDiverged as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; "
              f"{_last_checkpoint(checkpoint, args.checkpoint_every)}", file=sys.stderr)
        return INTERRUPTED
    history.save_json(out / "history.json")
    summary = {"loss": args.loss, "data": args.data, "steps": args.steps, "seed": args.seed,
               "batch": batch, "seconds": history.seconds, "device": str(device),
               "path": history.path, "out": str(out),
               "samples": _save_samples(history, source, out)}
    if kind == "2d":
        from ganlib.metrics import mode_metrics

        y = torch.arange(10_000, device=device) % G.n_classes if G.n_classes else None
        samples = train.generate(G, 10_000, y=y, latent=objective.latent)
        summary.update(mode_metrics(samples, source).as_dict())
    print(json.dumps(summary, indent=1))
    return 0


def _merge(args, parser: argparse.ArgumentParser) -> int:
    from ganlib import sweep

    if args.to is None:
        parser.error("--merge needs --to CSV, the merged file to write")
    to = Path(args.to)
    if to.is_dir():
        parser.error(f"--to {to} is a directory; give the CSV file to write")
    if not to.parent.is_dir():
        parser.error(f"--to {to}: the folder {to.parent} does not exist; create it first")
    if not sweep.read_rows(Path(args.merge)):
        parser.error(f"--merge: no shard CSVs with complete rows under {args.merge}")
    try:
        dest = sweep.merge(args.merge, to)
    except OSError as e:
        parser.error(f"--to {to}: cannot write it ({e.strerror})")
    print(f"{len(sweep.read_rows(dest))} cells merged into {dest}")
    return 0


def _sweep(args, parser: argparse.ArgumentParser) -> int:
    from ganlib import sweep

    if (args.grid is None) == (args.merge is None):
        parser.error("give either --grid GRID.json (run a shard) or --merge DIR --to CSV")
    if args.merge is not None:
        return _merge(args, parser)
    try:
        i, n = shard = sweep.parse_shard(args.shard)
        grid = sweep.load_grid(args.grid)
    except ValueError as e:
        parser.error(str(e))
    try:
        cells = sweep.expand(grid)[i::n]  # every value checked before any cell runs
    except ValueError as e:
        parser.error(f"--grid {args.grid}: {e}")
    try:
        device = config.get_device(args.device)
        sweep.check_data(cells)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    out = Path(args.out)
    _writable_dir(out, "--out", parser)
    csv = sweep.shard_path(out, shard)
    before = csv.stat().st_size if csv.exists() else 0
    try:
        path = sweep.run(grid, out, shard=shard, device=device)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; the finished cells are in {out}; run the same "
              "command again to go on", file=sys.stderr)
        return INTERRUPTED
    # the shard's rows are appended: it wrote something only if its file grew
    print(f"shard {args.shard} written to {path}"
          if path.exists() and path.stat().st_size > before else
          f"shard {args.shard}: nothing written (every cell was done, or taken by another "
          "process)")
    return 0


def main(argv: list[str] | None = None) -> int:
    epilog = (f"losses: {', '.join(losses.names())}\n"
              f"datasets: {', '.join(DATASETS)}")
    parser = _Parser(prog="ganlib", description=__doc__, epilog=epilog,
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
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (without it, such an --out is refused)")
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
    try:
        return _sweep(args, w) if args.command == "sweep" else _train(args, t)
    except KeyboardInterrupt:  # while loading or checking, before any work
        print(f"ganlib {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
