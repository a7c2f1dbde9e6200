"""Each loss read where its runs settle, by one rule for every loss: the comparison
chapter's ladder of readings.

A *rung* is one grid read at one step, as a chapter of that many steps reads its eight
evaluations: a run at a constant learning rate, or, for a grid with ``lr_decay``, a run whose
rates fell to zero by its end (a decaying grid is read only at its end, where its schedule
is complete). A mixture's ladder tries its rungs in order, shorter runs first and, at the
same length, the constant rate before the decaying one, and reads a loss at the first rung
at which most of its seeds had settled within their own noise
(:meth:`ganlib.grid_runs.GridRuns.most_settled`). Every loss climbs the same ladder, so a
loss is read where its runs stopped moving, wherever that is; one that settles at a failure
is read at the failure. Ranks across rungs compare where the losses converged, not what
each did with the same number of steps::

    rungs = ladder.book_ladder("notebooks/results/search")
    where = ladder.first_settled(rungs["grid25"], "infogan", "grid25")
    got = ladder.table(rungs["grid25"], ["minimax", "infogan"], "grid25")
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ganlib import data, stats
from ganlib.grid_runs import GridRuns


class Rung(NamedTuple):
    """A grid's runs read at ``budget`` steps."""

    runs: GridRuns
    budget: int

    @property
    def decay(self) -> bool:
        """Whether the grid's learning rates decayed to zero over its last steps."""
        return float(self.runs.grid.get("lr_decay") or 0.0) > 0.0

    @property
    def label(self) -> str:
        return f"{self.budget:,} steps" + (" with a decaying rate" if self.decay else "")


def _checked(runs: GridRuns, budget: int) -> Rung:
    """``runs`` read at ``budget``: a clear error when the grid stops before ``budget``, or
    when a decaying grid would be read before its end."""
    steps = int(runs.grid["steps"])
    if budget > steps:
        raise ValueError(f"the grid in {runs.folder} trains {steps:,} steps; it cannot be read "
                         f"at {budget:,}")
    out = Rung(runs, budget)
    if out.decay and budget != steps:
        raise ValueError(f"the grid in {runs.folder} decays its rates to zero at step "
                         f"{steps:,}; read at {budget:,} its schedule is not complete (read it "
                         f"at {steps:,})")
    return out


def rung(grid: dict | str | Path, folder: str | Path, budget: int) -> Rung:
    """A grid (dict or JSON file) under ``folder`` read at ``budget`` (a clear error when the
    grid stops before it, or when a decaying grid would be read before its end)."""
    return _checked(GridRuns(grid, folder), budget)


def order(rungs) -> list[Rung]:
    """``rungs`` in the ladder's order: fewer steps first; at the same length, constant rate
    first."""
    return sorted(rungs, key=lambda r: (r.budget, r.decay))


# (grid, folder, the steps it is read at, the mixtures it is a rung for): the grids the
# book's settings page and comparison read, under results/search
BOOK = (("convergence_long_ring8.json", "convergence-long-ring8", (8_000, 12_000, 16_000),
         ("ring8",)),
        ("convergence_long_grid25.json", "convergence-long-grid25", (8_000, 12_000, 16_000),
         ("grid25",)),
        ("lr_decay_ring8.json", "lr-decay-ring8", (8_000,), ("ring8",)),
        ("lr_decay_grid25.json", "lr-decay-grid25", (8_000,), ("grid25",)),
        ("lr_decay_16k_grid25.json", "lr-decay-16k-grid25", (16_000,), ("grid25",)),
        ("convergence_32k_grid25.json", "convergence-32k-grid25", (24_000, 32_000),
         ("grid25",)),
        ("lr_decay_32k_grid25.json", "lr-decay-32k-grid25", (32_000,), ("grid25",)))


def book_ladder(root: str | Path, spec=BOOK,
                known: dict[str, GridRuns] | None = None) -> dict[str, list[Rung]]:
    """Each mixture's ladder (:func:`order`) from the grids ``spec`` names under ``root``
    (each grid's runs are read once, whatever the number of its rungs). ``known`` maps a
    folder of ``spec`` to the :class:`GridRuns` a caller already read there, whose measured
    noise the ladder then shares."""
    root, out, known = Path(root), {}, known or {}
    for grid, folder, budgets, mixtures in spec:
        runs = known[folder] if folder in known else GridRuns(root / grid, root / folder)
        for budget in budgets:
            checked = _checked(runs, budget)
            for mix in mixtures:
                out.setdefault(mix, []).append(checked)
    return {mix: order(rungs) for mix, rungs in out.items()}


class Where(NamedTuple):
    """Where a loss settled on a mixture: the first rung (None when none), and the rungs
    the ladder passed (or, with no rung, all of them) that hold no run of the loss."""

    rung: Rung | None
    unrun: tuple[Rung, ...]


def first_settled(rungs, loss: str, dataset: str) -> Where:
    """The first of ``rungs`` (in the ladder's order) at which most of ``loss``'s seeds on
    ``dataset`` had settled within their own noise. A rung without runs of the loss is
    passed and named in ``unrun``: the reading is then the first settled rung among those
    run, which the caller says."""
    unrun = []
    for r in order(rungs):
        if not r.runs.runs(loss, dataset):
            unrun.append(r)
        elif r.runs.most_settled(loss, dataset, r.budget, within_noise=True):
            return Where(r, tuple(unrun))
    return Where(None, tuple(unrun))


def table(rungs, names, dataset: str, alpha: float = 0.05) -> dict:
    """``names`` on ``dataset``, each at its first settled rung: per loss its reading, its
    seeds (covered modes and high-quality share), the score's mean and percentile-bootstrap
    95% interval inside [0, 1], its seeds settled within noise and at full coverage, and
    its rank by the exact permutation test among the losses that settled somewhere (the
    others are listed as not settled). Returns ``{"where": {loss: Where}, "table": {loss:
    row}, "rank": {loss: rank}, "pairs": {(a, b): p}, "full": {loss: seeds at full
    coverage}}``."""
    where = {n: first_settled(rungs, n, dataset) for n in names}
    tallies = {n: w.rung.runs.tally(n, dataset, w.rung.budget)
               for n, w in where.items() if w.rung is not None}
    groups = {n: t["score"] for n, t in tallies.items()}
    pairs = stats.pairwise(groups)
    rank = stats.rank(groups, higher_is_better=True, alpha=alpha, pvalues=pairs)
    rows, total = {}, len(data.MIXTURES[dataset]().centers)
    for n in sorted(names, key=lambda n: (rank.get(n, len(names) + 1),
                                          -np.mean(groups.get(n, [0.0])))):
        if n not in tallies:
            rows[n] = {"read at": "not settled at any reading", "per seed: modes (% HQ)": "-",
                       "score": "-", "settled within noise": "-", "full coverage": "-",
                       "rank": "not ranked"}
            continue
        t, r = tallies[n], where[n].rung
        mean, low, high = stats.interval(t["score"], low=0.0, high=1.0)
        rows[n] = {"read at": r.label,
                   "per seed: modes (% HQ)": "; ".join(
                       f"{m}/{total} ({q:.0f}%)" for m, q in zip(t["modes"], t["high_quality"])),
                   "score": f"{mean:.2f} [{low:.2f}, {high:.2f}]",
                   "settled within noise": f"{t['settled']}/{t['n']}",
                   "full coverage": f"{t['full']}/{t['n']}", "rank": rank[n]}
    return {"where": where, "table": rows, "rank": rank, "pairs": pairs,
            "full": {n: t["full"] for n, t in tallies.items()}}


def full_in_most(got: dict, at_least: int = 4) -> list[str]:
    """The losses of a :func:`table` that settled at full coverage (every mode, at least
    :data:`ganlib.readout.HIGH_QUALITY` % high quality) in at least ``at_least`` seeds."""
    return [n for n in got["table"] if got["full"].get(n, 0) >= at_least]
