"""Sweeps: a grid of runs split into shards, each shard appending to its own CSV.

A grid is a JSON object whose list values are crossed, for example::

    {"loss": ["nonsaturating", "wgan-gp"], "data": ["ring8", "grid25"],
     "seed": [0, 1, 2, 3, 4], "steps": 10000}

``python -m ganlib sweep --grid GRID.json --shard i/n --out DIR`` runs cells ``i, i+n,
i+2n, ...`` (0 <= i < n), so n GPUs, or the n tasks of a cluster array job (SLURM's
``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``), split one grid with no code
change. Every value of every cell is checked, and Fashion-MNIST loaded, before the first
cell runs. Each finished cell is appended to ``DIR/shard-i-of-n.csv`` at once, as one
line ending in a newline; a reader ignores a line cut off by a crash (no newline, missing
or unparsable fields), so a partial row is never a result, and a rerun skips exactly the
cells that a complete row under DIR holds (every key of ``KEYS``, ``n_eval`` included).
Two processes on the same DIR never train one cell twice: a process holds an exclusive
``flock`` on ``DIR/.cell-<hash>.lock`` while it trains a cell (the operating system drops
it if the process dies, so a crash leaves no stale lock) and skips cells another process
holds. ``python -m ganlib sweep --merge DIR --to results.csv`` merges the shards.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from ganlib import config, data, experiments, train

try:  # advisory locks (Linux, macOS); without them two processes may train a cell twice
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None

DATASETS = ("ring8", "grid25", "fashion-mnist")
DEFAULTS = {"steps": 2_000, "batch": 256, "lr": None, "n_eval": 10_000}
KEYS = ("loss", "data", "seed", "steps", "batch", "lr", "n_eval")
METRICS_2D = ("modes", "total_modes", "high_quality", "kl", "w2")
METRICS_IMAGE = ("fd", "fd_floor", "precision", "recall", "class_coverage", "class_kl")
# every CSV has all columns, so 2-D and image cells, and diverged runs, share one header
FIELDS = KEYS + METRICS_2D + METRICS_IMAGE + ("diverged", "seconds", "device")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(key: str, value):
    """``value`` of grid key ``key``, normalised (lr as a float), or a ValueError."""
    from ganlib import losses

    if key == "loss" and value not in losses.names():
        raise ValueError(f"unknown loss {value!r}; known losses: {', '.join(losses.names())}")
    if key == "data" and value not in DATASETS:
        raise ValueError(f"unknown data {value!r}: use one of {DATASETS}")
    if key == "seed" and not (_is_int(value) and 0 <= value <= config.SEED_MAX):
        raise ValueError(f"seed must be an integer in 0..{config.SEED_MAX}, got {value!r}")
    if key in ("steps", "batch", "n_eval") and not (_is_int(value) and value >= 1):
        raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
    if key == "lr":
        if value is None:
            return None
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and value >= 0):
            raise ValueError(f"lr must be a number >= 0 (or null for each loss's default), "
                             f"got {value!r}")
        return float(value)
    return value


def expand(grid: dict) -> list[dict]:
    """All cells of ``grid`` (list values crossed, in key order), with defaults filled in.

    Every value is checked (a ValueError names the first bad one) and repeated values of a
    key count once, so no cell appears twice.
    """
    if not isinstance(grid, dict):
        raise ValueError(f"a grid is a JSON object such as {{\"loss\": [\"hinge\"], \"data\": "
                         f"\"ring8\", \"seed\": [0, 1]}}, got a {type(grid).__name__}")
    unknown = set(grid) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown grid keys {sorted(unknown)}: use {KEYS}")
    for key in ("loss", "data", "seed"):
        if key not in grid:
            raise ValueError(f"the grid needs {key!r}")
    grid = {**DEFAULTS, **grid}
    axes = {}
    for key in KEYS:
        values = grid[key] if isinstance(grid[key], list) else [grid[key]]
        if not values:
            raise ValueError(f"grid key {key!r} has an empty list")
        axes[key] = list(dict.fromkeys(_check(key, v) for v in values))  # drops repeats
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def check_data(cells: list[dict]) -> None:
    """Load the datasets that ``cells`` train on, so a missing or corrupt file is found
    before the first cell runs (the generated mixtures need nothing)."""
    if any(c["data"] == "fashion-mnist" for c in cells):
        data.fashion_mnist("train")


def cell_key(cell: dict) -> str:
    """The identity of a cell; the same for a grid cell and its CSV row (where None is "")."""
    return "|".join(f"{k}={'' if cell.get(k) is None else cell[k]}" for k in KEYS)


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


def _complete(row: dict) -> bool:
    """A row every field of which was written and parses (a crash can cut one short)."""
    if None in row or None in row.values():  # more or fewer fields than the header
        return False
    try:
        if not row["loss"] or row["data"] not in DATASETS or row["diverged"] not in ("0", "1"):
            return False
        for k in ("seed", "steps", "batch", "n_eval"):  # an older file without n_eval: ""
            int(row[k])
        for k in METRICS_2D + METRICS_IMAGE + ("seconds",):  # a column added later: ""
            if row.get(k):
                float(row[k])
        return bool(row["device"]) and (row["lr"] == "" or float(row["lr"]) >= 0)
    except (KeyError, ValueError):
        return False


def _parse(f: Path) -> tuple[list[str] | None, list[dict], int]:
    """A shard CSV's header, its complete rows, and how many rows were incomplete. Only
    text up to the last newline counts: a line without one was cut off while written."""
    with f.open(newline="") as fh:
        text = fh.read()
    cut = text[:text.rfind("\n") + 1]
    table = list(csv.reader(io.StringIO(cut)))
    if not table:
        return None, [], int(bool(text))
    header, lines = table[0], table[1:]
    rows = [dict(zip(header, line)) if len(line) == len(header) else {None: line}
            for line in lines]
    good = [r for r in rows if _complete(r)]
    return header, good, len(rows) - len(good) + (cut != text)


def _scan(out: Path) -> tuple[list[dict], int]:
    files = [out] if out.is_file() else sorted(out.glob("*.csv")) if out.is_dir() else []
    rows, bad = [], 0
    for f in files:
        _, good, n_bad = _parse(f)
        rows += good
        bad += n_bad
    return rows, bad


def read_rows(out: Path) -> list[dict]:
    """Every complete row of every CSV under ``out`` (or of the CSV ``out``), values as
    strings; rows cut off by a crash, or without a key column, are left out."""
    return _scan(Path(out))[0]


def run_cell(cell: dict, device=None, samples_dir: Path | None = None) -> dict:
    """Train one cell and score it; returns its CSV row."""
    device = config.get_device(device)
    kind = "image" if cell["data"] == "fashion-mnist" else "2d"
    n_eval = cell.get("n_eval", DEFAULTS["n_eval"])
    profile = config.Profile(
        "sweep", steps_2d=cell["steps"], batch_2d=cell["batch"], steps_image=cell["steps"],
        batch_image=cell["batch"], n_eval_2d=n_eval, n_eval_image=n_eval, seeds=1)
    fit_kw = {} if cell.get("lr") is None else {"lr": cell["lr"]}  # lr 0 is a learning rate
    row = {k: cell.get(k) for k in FIELDS}
    row["n_eval"] = n_eval
    t0 = time.perf_counter()
    try:
        if kind == "2d":
            source = data.MIXTURES[cell["data"]](device=device)
            objective, nets, kw = experiments.setup(cell["loss"], "2d", len(source.centers),
                                                    seed=cell["seed"])
            run = experiments.train_2d(objective, source, profile, cell["seed"], nets=nets,
                                       progress=False, **kw, **fit_kw)
            row.update({k: getattr(run.metrics, k) for k in METRICS_2D})
            if samples_dir is not None:
                samples_dir.mkdir(parents=True, exist_ok=True)
                name = cell_key(cell).replace("|", "_").replace("=", "-") + ".npy"
                np.save(samples_dir / name, run.samples[:1000].numpy().astype(np.float16))
        else:
            from ganlib.evaluator import evaluate

            images = data.fashion_mnist("train", device=device)
            objective, nets, kw = experiments.setup(cell["loss"], "image", seed=cell["seed"])
            run = experiments.train_images(objective, images, profile, cell["seed"], nets=nets,
                                           progress=False, **kw, **fit_kw)
            m = evaluate(run.G, n=profile.n_eval_image, seed=cell["seed"],
                         latent=objective.latent)
            row.update({k: getattr(m, k) for k in METRICS_IMAGE if k != "fd_floor"})
            row["fd_floor"] = m.floor.fd
        row["diverged"] = 0
    except train.TrainingDiverged:
        row["diverged"] = 1
    row["seconds"] = round(time.perf_counter() - t0, 2)
    row["device"] = str(device)
    return row


@contextlib.contextmanager
def _flock(path: Path, wait: bool = True):
    """Hold an exclusive advisory lock on ``path`` (a file, created, or a directory); yields
    False where ``wait`` is off and another process holds it."""
    if fcntl is None:
        yield True
        return
    fd = os.open(path, os.O_RDONLY if path.is_dir() else os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _csv(rows: list[dict], header: bool = False) -> str:
    """``rows`` as CSV lines under ``FIELDS`` (a missing column is empty)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, restval="", extrasaction="ignore")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _rewrite(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step (a crash leaves the old file or the new)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _append(path: Path, row: dict, log=print) -> None:
    """Append ``row`` to the shard CSV ``path`` as one complete line, first giving the file
    the current header (an empty file, one from an older ganlib) and cutting off a line a
    crash left without its newline, so the new row never continues a broken one."""
    with _flock(path.parent):  # one writer at a time per directory
        raw = path.read_bytes() if path.exists() else b""
        whole = raw[:raw.rfind(b"\n") + 1]  # complete lines only
        text = whole.decode()
        if next(csv.reader(io.StringIO(text)), None) != list(FIELDS):
            old = [r for r in csv.DictReader(io.StringIO(text))
                   if None not in r and None not in r.values()]
            if old:
                log(f"{path}: rewritten under the current columns")
            _rewrite(path, _csv(old, header=True))
        elif whole != raw:
            log(f"{path}: dropped a row cut off by an earlier crash (its cell runs again)")
            with path.open("r+b") as fh:
                fh.truncate(len(whole))
        with path.open("a", newline="") as fh:
            fh.write(_csv([row]))
            fh.flush()
            os.fsync(fh.fileno())


def run(grid: dict, out: str | Path, shard: tuple[int, int] = (0, 1), device=None,
        log=print) -> Path:
    """Run this shard's cells that no complete row under ``out`` holds yet; return the
    shard's CSV. The grid, the device and the datasets are checked before any cell runs."""
    out = Path(out)
    i, n = shard
    mine = expand(grid)[i::n]
    device = config.get_device(device)
    check_data(mine)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"shard-{i}-of-{n}.csv"
    rows, bad = _scan(out)
    done = {cell_key(r) for r in rows}
    todo = [c for c in mine if cell_key(c) not in done]
    log(f"shard {i}/{n}: {len(todo)} cells to run, {len(mine) - len(todo)} already done")
    if bad:
        log(f"{bad} incomplete rows under {out} (cut off by a crash, or from an older ganlib "
            "without n_eval) are ignored; their cells run again")
    for cell in todo:
        key = cell_key(cell)
        lock = out / f".cell-{hashlib.sha1(key.encode()).hexdigest()[:16]}.lock"
        with _flock(lock, wait=False) as held:
            if not held or key in done_keys(out):
                log(f"{key}: skipped, another process is running it or has finished it")
                continue
            row = run_cell(cell, device, samples_dir=out / "samples")
            _append(path, row, log)
            lock.unlink(missing_ok=True)  # after the row: whoever locks it next sees it done
        log(f"{key}: {row['seconds']} s")
    return path


def merge(out: str | Path, dest: str | Path) -> Path:
    """Merge the complete rows of every shard CSV under ``out`` into ``dest`` (one row per
    cell, sorted by cell key), written in one step."""
    rows = {cell_key(r): r for r in read_rows(Path(out))}
    dest = Path(dest)
    _rewrite(dest, _csv([rows[k] for k in sorted(rows)], header=True))
    return dest


def summarise(rows: list[dict], metric: str, by=("loss", "data")) -> dict:
    """Mean and 95% confidence half-width (Student t) of ``metric`` per group."""
    from scipy import stats

    groups: dict[tuple, list[float]] = {}
    for r in rows:
        value = r.get(metric)
        if value not in (None, "") and str(r.get("diverged", "0")) in ("0", "0.0"):
            groups.setdefault(tuple(r[k] for k in by), []).append(float(value))
    out = {}
    for key, values in groups.items():
        x = np.asarray(values)
        half = (stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
                if len(x) > 1 else math.inf)
        out[key] = {"mean": float(x.mean()), "ci95": float(half), "n": len(x)}
    return out


def rank_with_ties(summary: dict, higher_is_better: bool) -> dict:
    """Rank = 1 + the number of groups whose whole interval is strictly better; groups
    whose intervals overlap therefore share ranks."""
    sign = 1 if higher_is_better else -1
    lo = {k: sign * v["mean"] - v["ci95"] for k, v in summary.items()}
    hi = {k: sign * v["mean"] + v["ci95"] for k, v in summary.items()}
    return {k: 1 + sum(lo[o] > hi[k] for o in summary if o != k) for k in summary}


def load_grid(path: str | Path) -> dict:
    """The grid in the JSON file ``path``; a ValueError says what is wrong with the file."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give the grid's JSON file")
    if not path.is_file():
        raise ValueError(f"{path}: no such grid file")
    try:
        grid = json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not valid JSON: it is not text") from None
    if not isinstance(grid, dict):
        raise ValueError(f"{path} holds a JSON {type(grid).__name__}, not an object; a grid "
                         'looks like {"loss": ["hinge"], "data": "ring8", "seed": [0, 1]}')
    return grid
