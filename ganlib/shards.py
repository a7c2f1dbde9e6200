"""Shard CSVs: how a sweep's results are written, read back, locked and merged.

A row is appended as one line ending in a newline (flushed and synced), under a lock on
the directory; before appending, a writer gives the file the current header (an empty
file, one from an older ganlib) and cuts off a line a crash left without its newline, so
a new row never continues a broken one. A reader counts only complete rows: text after the
last newline is ignored, and a row must have every field of its file's header, each
parsing (``n_eval`` included, so a row from before ``n_eval`` was recorded claims no cell).
While a process trains a cell it holds an exclusive ``flock`` on ``DIR/.cell-<hash>.lock``
(released by the operating system if the process dies, so a crash leaves no stale lock);
another process skips that cell. Without ``fcntl`` (Windows) there is no locking.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
from pathlib import Path

try:  # advisory locks (Linux, macOS); without them two processes may train a cell twice
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None

KEYS = ("loss", "data", "seed", "steps", "batch", "lr", "n_eval")
# in a cell's identity only when set
OPTIONS = ("settings", "ema", "eval_every", "pair", "lr_decay", "params", "lr_d_x")
METRICS_2D = ("modes", "total_modes", "high_quality", "kl", "w2", "modes_radius", "w2_floor")
METRICS_IMAGE = ("fd", "fd_floor", "precision", "recall", "class_coverage", "class_kl")
# every CSV has all columns, so 2-D and image cells, and diverged runs, share one header;
# a cell scored along the way has one row per evaluation ``step``, its final result last
FIELDS = (KEYS + OPTIONS + ("step",) + METRICS_2D + METRICS_IMAGE
          + ("d_updates", "diverged", "seconds", "device"))


def cell_key(cell: dict) -> str:
    """The identity of a cell; the same for a grid cell and its CSV rows (where None is "")."""
    key = "|".join(f"{k}={'' if cell.get(k) is None else cell[k]}" for k in KEYS)
    return key + "".join(f"|{k}={cell[k]}" for k in OPTIONS if cell.get(k) not in (None, ""))


def parse_params(text: str | None) -> dict:
    """The keywords a cell's ``params`` text stands for (``"k=0,lam=1.5"`` -> ``{"k": 0,
    "lam": 1.5}``); ``{}`` for none."""
    out = {}
    for item in (text or "").split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"params {text!r}: {item!r} is not key=value")
        for kind in (int, float):
            try:
                out[key] = kind(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out


def is_final(row: dict) -> bool:
    """The row holding a cell's result (not a point scored along the way)."""
    return row.get("step") in (None, "", row.get("steps"))


def done_keys(out: Path) -> set[str]:
    """The cells whose final row is complete (written last, so the cell finished)."""
    return {cell_key(row) for row in read_rows(out) if is_final(row)}


def _complete(row: dict) -> bool:
    """A row every field of which was written and parses (a crash can cut one short)."""
    if None in row or None in row.values():  # more or fewer fields than the header
        return False
    try:
        if not (row["loss"] and row["data"]) or row["diverged"] not in ("0", "1"):
            return False
        for k in ("seed", "steps", "batch", "n_eval"):  # an older file without n_eval: ""
            int(row[k])
        for k in ("step", "d_updates", "eval_every"):
            if row.get(k):
                int(row[k])
        for k in METRICS_2D + METRICS_IMAGE + ("seconds", "ema"):  # a column added later: ""
            if row.get(k):
                float(row[k])
        return bool(row["device"]) and (row["lr"] == "" or float(row["lr"]) >= 0)
    except (KeyError, ValueError):
        return False


def _parse(f: Path) -> tuple[list[dict], int]:
    """A shard CSV's complete rows, and how many rows were incomplete. Only text up to the
    last newline counts: a line without one was cut off while written."""
    with f.open(newline="") as fh:
        text = fh.read()
    cut = text[:text.rfind("\n") + 1]
    table = list(csv.reader(io.StringIO(cut)))
    if not table:
        return [], int(bool(text))
    header, lines = table[0], table[1:]
    rows = [dict(zip(header, line)) if len(line) == len(header) else {None: line}
            for line in lines]
    good = [r for r in rows if _complete(r)]
    return good, len(rows) - len(good) + (cut != text)


def scan(out: Path) -> tuple[list[dict], int]:
    """The complete rows of every CSV under ``out`` (or of the CSV ``out``) and the number
    of incomplete ones."""
    files = [out] if out.is_file() else sorted(out.glob("*.csv")) if out.is_dir() else []
    rows, bad = [], 0
    for f in files:
        good, n_bad = _parse(f)
        rows += good
        bad += n_bad
    return rows, bad


def read_rows(out: Path) -> list[dict]:
    """Every complete row of every CSV under ``out`` (or of the CSV ``out``), values as
    strings; rows cut off by a crash, or without a key column, are left out."""
    return scan(Path(out))[0]


@contextlib.contextmanager
def flock(path: Path, wait: bool = True):
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


def append(path: Path, rows: list[dict], log=print) -> None:
    """Append a cell's ``rows`` to the shard CSV ``path`` in one write of complete lines,
    first giving the file the current header (an empty file, one from an older ganlib) and
    cutting off a line a crash left without its newline, so no new row continues a broken
    one."""
    with flock(path.parent):  # one writer at a time per directory
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
            fh.write(_csv(rows))
            fh.flush()
            os.fsync(fh.fileno())


def merge(out: str | Path, dest: str | Path) -> Path:
    """Merge the complete rows of every shard CSV under ``out`` into ``dest`` (one row per
    cell and evaluation step, sorted by cell key), written in one step."""
    rows = {f"{cell_key(r)}|step={r.get('step') or ''}": r for r in read_rows(Path(out))}
    dest = Path(dest)
    _rewrite(dest, _csv([rows[k] for k in sorted(rows)], header=True))
    return dest


@contextlib.contextmanager
def cell_lock(out: Path, key: str):
    """Hold the lock on the cell ``key`` under ``out`` (yields False where another process
    holds it); once the cell's row is written, the lock file is removed before release."""
    lock = out / f".cell-{hashlib.sha1(key.encode()).hexdigest()[:16]}.lock"
    with flock(lock, wait=False) as held:
        yield held
        if held and key in done_keys(out):
            lock.unlink(missing_ok=True)  # whoever locks it next sees the cell done
