"""Command line for ganlib.

  python -m ganlib losses                    list the registered losses
  python -m ganlib train --loss NAME ...     train one loss with ganlib.train.fit, writing the
                                             checkpoint, history.json and sample PNGs to --out
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
        summary.update(mode_metrics(train.generate(G, 10_000, y=y), source).as_dict())
    print(json.dumps(summary, indent=1))
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
    args = parser.parse_args(argv)
    if args.command == "losses":
        print("\n".join(losses.names()))
        return 0
    return _train(args, t)


if __name__ == "__main__":
    sys.exit(main())
