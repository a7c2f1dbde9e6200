"""Command line: ``python -m ganlib losses`` lists the losses; ``python -m ganlib train``
trains one (``python -m ganlib train --help``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ganlib import config, data, losses, models, train


def _train(args) -> int:
    device = config.get_device(args.device)
    objective = losses.get(args.loss)
    if args.data in data.MIXTURES:
        source, kind = data.MIXTURES[args.data](device=device), "2d"
    elif args.data == "fashion_mnist":
        source, kind = data.fashion_mnist("train", root=args.root, device=device), "image"
    else:
        raise SystemExit(f"unknown data {args.data!r}: use ring8, grid25 or fashion_mnist")
    config.seed_everything(args.seed)
    G, D = (m.to(device) for m in models.pair(kind))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    history = train.fit(G, D, objective, source, steps=args.steps, batch_size=args.batch,
                        seed=args.seed, checkpoint=out / "checkpoint.pt",
                        checkpoint_every=args.checkpoint_every,
                        resume=out / "checkpoint.pt" if args.resume else None)
    history.save_json(out / "history.json")
    summary = {"loss": args.loss, "data": args.data, "steps": args.steps,
               "seconds": history.seconds, "device": str(device)}
    if kind == "2d":
        from ganlib.metrics import mode_metrics
        samples = train.generate(G, 10_000)
        summary.update(mode_metrics(samples, source).as_dict())
    print(json.dumps(summary, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("losses", help="list the registered losses")
    t = sub.add_parser("train", help="train one loss on one dataset")
    t.add_argument("--loss", required=True, help="a name from `python -m ganlib losses`")
    t.add_argument("--data", default="ring8", help="ring8, grid25 or fashion_mnist")
    t.add_argument("--steps", type=int, default=2_000)
    t.add_argument("--batch", type=int, default=256)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    t.add_argument("--root", default=None, help="directory holding the Fashion-MNIST IDX files")
    t.add_argument("--out", default="runs/latest", help="directory for checkpoint and history")
    t.add_argument("--checkpoint-every", type=int, default=1_000)
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    args = parser.parse_args(argv)
    if args.command == "losses":
        print("\n".join(losses.names()))
        return 0
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())
