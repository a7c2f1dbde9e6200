"""Sweeps: a grid of runs split into shards, each shard appending to its own CSV.

A grid is a JSON object whose list values are crossed, for example::

    {"loss": ["nonsaturating", "wgan-gp"], "data": ["ring8", "grid25"],
     "seed": [0, 1, 2, 3, 4], "steps": 10000}

``python -m ganlib sweep --grid GRID.json --shard i/n --out DIR`` runs cells ``i, i+n,
i+2n, ...`` (0 <= i < n), so n GPUs, or the n tasks of a cluster array job (SLURM's
``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``), split one grid with no code
change. Every value of every cell is checked, and Fashion-MNIST loaded, before the first
cell runs; repeated values count once. Each finished cell is appended to
``DIR/shard-i-of-n.csv`` at once (:mod:`ganlib.shards`: rows written whole, a row cut off
by a crash never read as a result, a lock per cell so that two processes on one DIR never
train a cell twice), and a rerun skips exactly the cells that a complete row under DIR
holds (every key of ``KEYS``, ``n_eval`` included).
``python -m ganlib sweep --merge DIR --to results.csv`` merges the shards.

Optional keys: ``settings`` ("paper" for the losses' paper values instead of those that fit
the data, :mod:`ganlib.settings`), ``ema`` (score the moving average of G's weights with
that decay, 0 for G itself; by default the settings' choice), ``eval_every`` (2-D: score
every that many steps too: one row per evaluation, ``step`` says which, all written when
the cell finishes), ``pair`` (the image networks, "image" by default or "image-small") and
``lr_decay`` (the fraction of the steps at the end over which the learning rates fall
linearly towards zero, :func:`ganlib.train.fit`), ``lr_d_x`` (two time-scales: the
discriminator's learning rate as a multiple of the generator's, which is the cell's; 1,
equal rates, is held as none, so a grid that gives ``"lr_d_x": 1`` keeps equal rates
whatever the settings choose, as a search made at equal rates must) and
``params`` (keywords of the loss that override its settings, e.g. ``{"k": 0}`` for DRAGAN's
penalty centred at zero; a cell holds them as text, ``"k=0"``).
They enter a cell's identity only when set, so rows written without them keep theirs.
``lr_x`` (instead of ``lr``) gives learning rates as multiples of each loss's paper value,
so that one grid searches every loss on its own scale (WGAN's RMSprop 5e-5 and the
DCGAN-style 2e-4 alike); ``"lr": "settings"`` takes each loss's learning rate for each data
set from :mod:`ganlib.settings`. Either way each cell holds the learning rate itself, so a
cell trained before the settings changed is not mistaken for one trained after.
A cell trains at the loss's own ``n_critic`` unless its ``params`` name another, and at equal
learning rates unless it has an ``lr_d_x`` (a grid with ``"lr": "settings"`` writes the
settings' values there where they differ), so that a cell means the same run before and
after the settings change a loss's ``n_critic`` or ``lr_d_x``.
``d_updates`` (instead of ``steps``) gives every loss the same discriminator updates:
``d_updates // n_critic`` generator steps, written into each cell as its ``steps``.
Every cell stores 1,000 samples of its scored generator under ``DIR/samples`` (2-D points
as float16 ``.npy``, images as uint8 ``.npz``), so its results can be looked at without
training it again.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from ganlib import config, data, experiments, stats, train
from ganlib import workers as ganlib_workers
from ganlib.grids import (  # noqa: F401 (the sweep's interface too)
    DATASETS,
    DEFAULTS,
    PER_LOSS,
    check_data,
    expand,
    load_grid,
    parse_params,
    parse_shard,
)
from ganlib.shards import (  # noqa: F401 (merge, read_rows: the sweep's interface too)
    FIELDS,
    KEYS,
    METRICS_2D,
    METRICS_IMAGE,
    OPTIONS,
    append,
    cell_key,
    cell_lock,
    done_keys,
    is_final,
    merge,
    read_rows,
    scan,
)


def run_cell(cell: dict, device=None, samples_dir: Path | None = None) -> list[dict]:
    """Train one cell and score it; returns its CSV rows (one per evaluation step, the
    cell's final result last)."""
    device = config.get_device(device)
    kind = "image" if cell["data"] == "fashion-mnist" else "2d"
    n_eval = cell.get("n_eval", DEFAULTS["n_eval"])
    pair = cell.get("pair") or "image"
    profile = config.Profile(
        "sweep", steps_2d=cell["steps"], batch_2d=cell["batch"], steps_image=cell["steps"],
        batch_image=cell["batch"], n_eval_2d=n_eval, n_eval_image=n_eval, seeds=1,
        image_pair=pair)
    fit_kw = {} if cell.get("lr") is None else {"lr": cell["lr"]}  # lr 0 is a learning rate
    if cell.get("lr_decay"):
        fit_kw["lr_decay"] = cell["lr_decay"]
    row = {k: cell.get(k) for k in FIELDS}
    row["n_eval"] = n_eval
    rows = []
    t0 = time.perf_counter()
    try:
        objective, nets, kw = experiments.setup(cell["loss"], cell["data"], seed=cell["seed"],
                                                paper=cell.get("settings") == "paper",
                                                pair=pair if kind == "image" else None,
                                                **_cell_params(cell))
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
                np.save(samples_dir / _sample_name(row, ".npy"),
                        run.samples[:1000].numpy().astype(np.float16))
        else:
            from ganlib.evaluator import evaluate

            images = data.fashion_mnist("train", device=device)
            run = experiments.train_images(objective, images, profile, cell["seed"], nets=nets,
                                           ema=cell.get("ema"), progress=False, **kw, **fit_kw)
            m = evaluate(run.generator, n=profile.n_eval_image, seed=cell["seed"],
                         latent=objective.latent)
            row.update({k: getattr(m, k) for k in METRICS_IMAGE if k != "fd_floor"})
            row["fd_floor"] = m.floor.fd
            if samples_dir is not None:
                save_images(samples_dir / _sample_name(row, ".npz"), run.generator, objective,
                            cell["seed"], kw.get("conditional", False))
        row["diverged"] = 0
    except train.TrainingDiverged:
        row["diverged"] = 1
    row["step"] = cell["steps"]
    seconds = round(time.perf_counter() - t0, 2)
    return [{**r, "seconds": seconds, "device": str(device)} for r in rows + [row]]


def _cell_params(cell: dict) -> dict:
    """The loss keywords a cell trains with: its ``params``, and the loss's own ``n_critic``
    where they name none, and its ``lr_d_x`` or equal rates (not the settings' values, which
    a later search may change)."""
    from ganlib import losses

    params = parse_params(cell.get("params"))
    params.setdefault("n_critic", losses.get(cell["loss"]).n_critic)
    if cell.get("lr_d_x") and params.get("lr_d_x", cell["lr_d_x"]) != cell["lr_d_x"]:
        raise ValueError(f"cell {cell_key(cell)} gives lr_d_x twice, as an option and in params")
    params["lr_d_x"] = cell.get("lr_d_x") or params.get("lr_d_x", 1.0)
    return params


def _sample_name(row: dict, suffix: str) -> str:
    return cell_key(row).replace("|", "_").replace("=", "-") + suffix


def stored_samples(out: str | Path, row: dict) -> torch.Tensor:
    """The samples a 2-D cell stored under ``out/samples`` (its first 1,000; ``row``: the
    cell or any of its rows), as float32 points of shape (n, 2)."""
    path = Path(out) / "samples" / _sample_name(row, ".npy")
    if not path.exists():
        raise FileNotFoundError(f"no samples stored for {cell_key(row)} in {path.parent}; "
                                "run its grid with `python -m ganlib sweep` first")
    return torch.from_numpy(np.load(path).astype(np.float32))


def save_images(path: Path, G, objective, seed: int, conditional: bool, n: int = 1_000) -> None:
    """``n`` samples of ``G`` drawn under ``seed`` (balanced labels for a conditional G), as
    uint8 images (N, 1, 28, 28) in ``path`` (``np.load(path)["images"]``), with their labels."""
    device = next(G.parameters()).device
    z = train.seeded_latent(objective.latent, n, G.z_dim, seed, device)
    y = torch.arange(n, device=device) % G.n_classes if conditional else None
    x = train.generate(G, n, z=z, y=y).cpu()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
                        .numpy(), labels=np.array([] if y is None else y.cpu().numpy()))


def shard_path(out: str | Path, shard: tuple[int, int]) -> Path:
    """The CSV that shard ``(i, n)`` of a grid writes its rows to under ``out``."""
    return Path(out) / f"shard-{shard[0]}-of-{shard[1]}.csv"


def run(grid: dict, out: str | Path, shard: tuple[int, int] = (0, 1), device=None,
        log=print, workers: int | None = None) -> Path:
    """Run this shard's cells that no complete row under ``out`` holds yet; return the
    shard's CSV. The grid, the device and the datasets are checked before any cell runs.

    ``workers`` processes train the cells (default: one per CPU core on a CPU, see
    :mod:`ganlib.workers`); each row is written as soon as its cell finishes."""
    out = Path(out)
    i, n = shard
    mine = expand(grid)[i::n]
    device = config.get_device(device)
    check_data(mine)
    out.mkdir(parents=True, exist_ok=True)
    path = shard_path(out, shard)
    rows, bad = scan(out)
    done = {cell_key(r) for r in rows if is_final(r)}  # whole final rows: finished cells
    todo = [c for c in mine if cell_key(c) not in done]
    log(f"shard {i}/{n}: {len(todo)} cells to run, {len(mine) - len(todo)} already done")
    if bad:
        log(f"{bad} incomplete rows under {out} (cut off by a crash, or from an older ganlib "
            "without n_eval) are ignored; their cells run again")
    procs = workers or ganlib_workers.count(device, len(todo))
    for cell, (row, notes) in ganlib_workers.imap(_run_locked, todo, procs, device, out, path):
        key = cell_key(cell)
        for note in notes:
            log(note)
        log(f"{key}: skipped, another process is running it or has finished it"
            if row is None else f"{key}: {row['seconds']} s")
    return path


def _run_locked(cell: dict, device, out: Path, path: Path) -> tuple[dict | None, list[str]]:
    """Train ``cell`` and append its rows to ``path``, returning the final one, unless another
    process is training it or has finished it (then None); with what writing the rows had to
    say. Runs in a worker process or in this one."""
    key, notes = cell_key(cell), []
    with cell_lock(out, key) as held:
        if not held or key in done_keys(out):
            return None, notes
        rows = run_cell(cell, device, samples_dir=out / "samples")
        append(path, rows, notes.append)
    return rows[-1], notes


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
