"""Sweeps: a grid of runs split into shards, each shard appending to its own CSV.

A grid is a JSON object whose list values are crossed, for example::

    {"loss": ["nonsaturating", "wgan-gp"], "data": ["ring8", "grid25"],
     "seed": [0, 1, 2, 3, 4], "steps": 10000}

``python -m ganlib sweep --grid GRID.json --shard i/n --out DIR`` runs cells ``i, i+n,
i+2n, ...`` (0 <= i < n), so n GPUs, or the n tasks of a cluster array job (SLURM's
``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``), split one grid with no code
change. Each finished cell is appended to ``DIR/shard-i-of-n.csv`` at once; a rerun skips
the cells already present in any CSV under DIR, so an interrupted shard resumes.
``python -m ganlib sweep --merge DIR --to results.csv`` merges the shards.

Optional keys: ``settings`` ("paper" for the losses' paper values instead of those that fit
the data, :mod:`ganlib.settings`), ``ema`` (score the moving average of G's weights with
that decay, 0 for G itself; by default the settings' choice) and ``eval_every`` (score every
that many steps too: one row per evaluation, ``step`` says which, all written when the cell
finishes). They enter a cell's identity only when set, so rows written without them keep
theirs.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from pathlib import Path

import numpy as np

from ganlib import config, data, experiments, stats, train

DATASETS = ("ring8", "grid25", "fashion-mnist")
DEFAULTS = {"steps": 2_000, "batch": 256, "lr": None}
KEYS = ("loss", "data", "seed", "steps", "batch", "lr")
OPTIONS = ("settings", "ema", "eval_every")  # part of a cell's identity only when set
METRICS_2D = ("modes", "total_modes", "high_quality", "kl", "w2", "modes_radius", "w2_floor")
METRICS_IMAGE = ("fd", "fd_floor", "precision", "recall", "class_coverage", "class_kl")
# every CSV has all columns, so 2-D and image cells, and diverged runs, share one header
FIELDS = (KEYS + OPTIONS + ("step",) + METRICS_2D + METRICS_IMAGE
          + ("d_updates", "diverged", "seconds", "device"))


def expand(grid: dict) -> list[dict]:
    """All cells of ``grid`` (list values crossed, in key order), with defaults filled in."""
    from ganlib import losses

    unknown = set(grid) - set(KEYS) - set(OPTIONS) - {"n_eval"}
    if unknown:
        raise ValueError(f"unknown grid keys {sorted(unknown)}: use {KEYS + OPTIONS} "
                         "(and n_eval)")
    grid = {**DEFAULTS, **grid}
    for key in ("loss", "data", "seed"):
        if key not in grid:
            raise ValueError(f"the grid needs {key!r}")
    axes = {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
    for name in axes["loss"]:
        if name not in losses.names():
            raise ValueError(f"unknown loss {name!r}; known losses: {', '.join(losses.names())}")
    for d in axes["data"]:
        if d not in DATASETS:
            raise ValueError(f"unknown data {d!r}: use one of {DATASETS}")
    for v in axes.get("settings", []):
        if v not in (None, "paper"):
            raise ValueError(f"settings {v!r}: use 'paper' for the papers' values, or leave it "
                             "out for the settings that fit the data")
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def cell_key(cell: dict) -> str:
    """The identity of a cell; the same for a grid cell and its CSV row (where None is "")."""
    key = "|".join(f"{k}={'' if cell.get(k) is None else cell[k]}" for k in KEYS)
    return key + "".join(f"|{k}={cell[k]}" for k in OPTIONS if cell.get(k) not in (None, ""))


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), checking 0 <= i < n."""
    try:
        i, n = (int(t) for t in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard {text}: need 0 <= i < n")
    return i, n


def done_keys(out: Path) -> set[str]:
    return {cell_key(row) for row in read_rows(out)}


def read_rows(out: Path) -> list[dict]:
    """Every row of every CSV under ``out`` (or of the CSV ``out``), values as strings."""
    files = [out] if out.is_file() else sorted(out.glob("*.csv")) if out.exists() else []
    rows = []
    for f in files:
        with f.open(newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def run_cell(cell: dict, device=None, samples_dir: Path | None = None) -> list[dict]:
    """Train one cell and score it; returns its CSV rows (one per evaluation step)."""
    device = config.get_device(device)
    kind = "image" if cell["data"] == "fashion-mnist" else "2d"
    profile = config.Profile(
        "sweep", steps_2d=cell["steps"], batch_2d=cell["batch"], steps_image=cell["steps"],
        batch_image=cell["batch"], n_eval_2d=cell.get("n_eval", 10_000),
        n_eval_image=cell.get("n_eval", 10_000), seeds=1)
    fit_kw = {"lr": cell["lr"]} if cell.get("lr") else {}
    row = {k: cell.get(k) for k in FIELDS}
    rows = []
    t0 = time.perf_counter()
    try:
        objective, nets, kw = experiments.setup(cell["loss"], cell["data"], seed=cell["seed"],
                                                paper=cell.get("settings") == "paper")
        row["d_updates"] = cell["steps"] * objective.n_critic
        if kind == "2d":
            source = data.MIXTURES[cell["data"]](device=device)
            run = experiments.train_2d(objective, source, profile, cell["seed"], nets=nets,
                                       ema=cell.get("ema"),
                                       eval_every=cell.get("eval_every"), progress=False,
                                       **kw, **fit_kw)
            for point in run.curve[:-1]:
                rows.append({**row, "step": point["step"], "diverged": 0,
                             "d_updates": point["step"] * objective.n_critic,
                             **{k: point[k] for k in METRICS_2D}})
            row.update({k: getattr(run.metrics, k) for k in METRICS_2D})
            if samples_dir is not None:
                samples_dir.mkdir(parents=True, exist_ok=True)
                name = cell_key(cell).replace("|", "_").replace("=", "-") + ".npy"
                np.save(samples_dir / name, run.samples[:1000].numpy().astype(np.float16))
        else:
            from ganlib.evaluator import evaluate

            images = data.fashion_mnist("train", device=device)
            run = experiments.train_images(objective, images, profile, cell["seed"], nets=nets,
                                           progress=False, **kw, **fit_kw)
            m = evaluate(run.G, n=profile.n_eval_image, seed=cell["seed"],
                         latent=objective.latent)
            row.update({k: getattr(m, k) for k in METRICS_IMAGE if k != "fd_floor"})
            row["fd_floor"] = m.floor.fd
        row["diverged"] = 0
    except train.TrainingDiverged:
        row["diverged"] = 1
    row["step"] = cell["steps"]
    seconds = round(time.perf_counter() - t0, 2)
    return [{**r, "seconds": seconds, "device": str(device)} for r in rows + [row]]


def run(grid: dict, out: str | Path, shard: tuple[int, int] = (0, 1), device=None,
        log=print) -> Path:
    """Run this shard's cells that no CSV under ``out`` holds yet; return the shard's CSV."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    i, n = shard
    path = out / f"shard-{i}-of-{n}.csv"
    done = done_keys(out)
    mine = expand(grid)[i::n]
    todo = [c for c in mine if cell_key(c) not in done]
    log(f"shard {i}/{n}: {len(todo)} cells to run, {len(mine) - len(todo)} already done")
    _upgrade_header(path)
    for cell in todo:
        rows = run_cell(cell, device, samples_dir=out / "samples")
        new = not path.exists()
        with path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            if new:
                writer.writeheader()
            writer.writerows(rows)
        log(f"{cell_key(cell)}: {rows[-1]['seconds']} s")
    return path


def _upgrade_header(path: Path) -> None:
    """Rewrite a shard CSV written with other columns (an older ganlib) under ``FIELDS``."""
    if not path.exists():
        return
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), None)
    if header is not None and tuple(header) != FIELDS:
        rows = read_rows(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def merge(out: str | Path, dest: str | Path) -> Path:
    """Merge every shard CSV under ``out`` into ``dest`` (one row per cell and evaluation
    step, sorted)."""
    rows = {f"{cell_key(r)}|step={r.get('step') or ''}": r for r in read_rows(Path(out))}
    fields = sorted({k for r in rows.values() for k in r}, key=_field_order)
    dest = Path(dest)
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows[k] for k in sorted(rows))
    return dest


def _field_order(name: str):
    return FIELDS.index(name) if name in FIELDS else len(FIELDS)


def summarise(rows: list[dict], metric: str, by=("loss", "data"), low: float | None = 0.0,
              high: float | None = None) -> dict:
    """Per group: mean, percentile-bootstrap 95% interval of the mean inside ``[low, high]``
    (``low``/``high``; ``ci95`` is its larger half-width), n and the per-seed values
    (:mod:`ganlib.stats`). Diverged runs are left out."""
    out = stats.summary(stats.groups_of(rows, metric, by), low, high)
    for v in out.values():
        v["ci95"] = max(v["mean"] - v["low"], v["high"] - v["mean"])
    return out


def rank_with_ties(summary: dict, higher_is_better: bool, alpha: float = 0.05) -> dict:
    """Rank = 1 + the number of groups better by an exact permutation test at ``alpha``
    (:func:`ganlib.stats.rank`); groups it cannot separate share ranks."""
    return stats.rank({k: v["values"] for k, v in summary.items()}, higher_is_better, alpha)


def load_grid(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
