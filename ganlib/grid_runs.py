"""The runs of a swept 2-D grid, read the way the chapters read them.

A grid (``python -m ganlib sweep``) leaves one results row per evaluation of every cell and
1,000 samples of every run's scored generator. :class:`GridRuns` groups the rows of a grid's
finished cells into runs, keyed ``(loss, data, seed)``, and answers what the chapters ask of
a run: its evaluation at a step, whether it had settled by a budget (the plain rule, or
within its own sampling noise), and how the rule fares on its last generator. The noise is
measured once per run and kept, so a chapter, the comparison and the settings page that read
the same run read the same numbers::

    runs = GridRuns("notebooks/results/search/convergence.json",
                    "notebooks/results/search/convergence-rerun")
    run = ("nonsaturating", "ring8", 0)
    runs.at(run, 8_000)["modes"], runs.settled(run, 8_000, within_noise=True)

:func:`reproduced` compares a grid trained again into another folder with the stored one
(or a longer grid of the same runs with a shorter one, up to a step), run by run and
evaluation by evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganlib import data, readout, stats, sweep
from ganlib.search import search_score

Run = tuple[str, str, int]  # (loss, data, seed)


def _step(row) -> int:
    return int(row["step"])


def finished_rows(grids, folder: str | Path) -> list[dict]:
    """The rows under ``folder`` of the finished cells of ``grids`` (a grid dict or JSON
    file, or a list of them, swept into the same folder): a cell counts once its final row
    is written, and rows of cells outside the grids (other settings, other steps) are not
    read."""
    if isinstance(grids, (dict, str, Path)):
        grids = [grids]
    keys = {sweep.cell_key(c) for g in grids
            for c in sweep.expand(g if isinstance(g, dict) else sweep.load_grid(g))}
    rows = [r for r in sweep.read_rows(Path(folder)) if sweep.cell_key(r) in keys]
    done = {sweep.cell_key(r) for r in rows if sweep.is_final(r)}
    return [r for r in rows if sweep.cell_key(r) in done]


class GridRuns:
    """The finished runs of ``grid`` (a grid dict or its JSON file) under ``folder`` (the
    sweep's ``--out``). A cell counts once its final row is written; rows of cells outside
    the grid (other settings, other steps) are not read. ``trials`` is the number of
    fixed-generator curves :meth:`noise` draws per run."""

    def __init__(self, grid: dict | str | Path, folder: str | Path, trials: int = 100):
        self.grid = grid if isinstance(grid, dict) else sweep.load_grid(grid)
        self.folder = Path(folder)
        self.trials = trials
        self.rows = finished_rows(self.grid, self.folder)
        self._runs: dict[Run, list[dict]] = {}
        for r in self.rows:
            self._runs.setdefault((r["loss"], r["data"], int(r["seed"])), []).append(r)
        for curve in self._runs.values():
            curve.sort(key=_step)
        self._noise: dict[Run, readout.RuleNoise] = {}

    def __len__(self) -> int:
        return len(self._runs)

    def runs(self, loss: str | None = None, dataset: str | None = None,
             diverged: bool | None = None) -> list[Run]:
        """The finished runs, sorted, of one loss and/or data set; ``diverged=False`` leaves
        out the runs stopped by a non-finite loss, ``True`` keeps only those."""
        return sorted(k for k in self._runs
                      if (loss is None or k[0] == loss) and (dataset is None or k[1] == dataset)
                      and (diverged is None or self.diverged(k) == diverged))

    def curve(self, run: Run) -> list[dict]:
        """Every evaluation of ``run``, in step order (results rows: values as text)."""
        try:
            return self._runs[run]
        except KeyError:
            raise KeyError(f"no finished run {run} in {self.folder} (of {len(self)}: run the "
                           "grid's missing cells with `python -m ganlib sweep`)") from None

    def final(self, run: Run) -> dict:
        """The run's last evaluation (its samples are stored beside it)."""
        return self.curve(run)[-1]

    def diverged(self, run: Run) -> bool:
        return self.final(run)["diverged"] == "1"

    def at(self, run: Run, step: int) -> dict:
        """The run's evaluation at ``step``; a clear error when it was not scored there."""
        for row in self.curve(run):
            if _step(row) == step:
                return row
        raise ValueError(f"run {run} in {self.folder} was not scored at step {step:,} "
                         f"(scored at {', '.join(f'{_step(r):,}' for r in self.curve(run))})")

    def every(self, budget: int) -> int:
        """The spacing of a chapter's eight evaluations over ``budget`` steps (no closer than
        the grid scored)."""
        return max(budget // 8, int(self.grid.get("eval_every") or budget))

    def samples(self, run: Run):
        """The 1,000 samples the sweep stored from the run's scored generator at its end."""
        return sweep.stored_samples(self.folder, self.final(run))

    def noise(self, run: Run) -> readout.RuleNoise:
        """:func:`ganlib.readout.rule_noise` on the run's last generator (measured once)."""
        if run not in self._noise:
            self._noise[run] = readout.rule_noise(
                self.samples(run), data.MIXTURES[run[1]](), n_eval=int(self.final(run)["n_eval"]),
                trials=self.trials)
        return self._noise[run]

    def settled(self, run: Run, budget: int, within_noise: bool = False) -> bool:
        """Whether the run had settled by ``budget`` as a chapter of that budget reads it
        (:func:`ganlib.readout.settled_at` over the chapter's eight evaluations), with the
        rule's tolerances or, ``within_noise``, those widened to the run's own noise."""
        tol = self.noise(run).tolerances if within_noise else None
        return readout.settled_at(self.curve(run), budget, self.every(budget), tolerances=tol)

    def most_settled(self, loss: str, dataset: str, budget: int,
                     within_noise: bool = False) -> bool:
        """Whether most of ``loss``'s runs on ``dataset`` had settled by ``budget``
        (:meth:`settled`; a diverged run counts as not settled): the reading under which
        the comparison chapter and the settings page call a loss's runs settled."""
        runs = self.runs(loss, dataset)
        if not runs:
            raise KeyError(f"no finished run of {loss} on {dataset} in {self.folder}")
        return 2 * sum(not self.diverged(r) and self.settled(r, budget, within_noise)
                       for r in runs) > len(runs)

    def tally(self, loss: str, dataset: str, budget: int) -> dict:
        """``loss``'s runs on ``dataset`` read at ``budget``, seed by seed: covered modes and
        high-quality share (lists), how many runs were at full coverage (every mode, at
        least 80% high quality) and how many had settled within their own noise, and each
        run's :func:`ganlib.search.search_score` (``score``)."""
        runs = [r for r in self.runs(loss, dataset) if not self.diverged(r)]
        if not runs:
            raise KeyError(f"no finished run of {loss} on {dataset} in {self.folder}")
        at = [self.at(r, budget) for r in runs]
        return {"modes": [int(r["modes"]) for r in at],
                "high_quality": [float(r["high_quality"]) for r in at],
                "full": sum(readout.full_coverage_row(r) for r in at),
                "settled": sum(self.settled(r, budget, within_noise=True) for r in runs),
                "n": len(runs), "score": [search_score(r) for r in at]}


def compare(sides: dict, budget: int, datasets=("ring8", "grid25")) -> dict:
    """Two sets of runs side by side at ``budget``: ``sides`` maps two labels to ``(GridRuns,
    loss)``. For each data set, each side's :meth:`GridRuns.tally`, the permutation test's
    two-sided p-value for the difference of the mean score (:func:`ganlib.stats.pvalue`),
    and the p-values after Holm's correction for the data sets. Returns ``{"tallies":
    {dataset: {label: tally}}, "p": {dataset: p}, "holm": {dataset: p}}``."""
    if len(sides) != 2:
        raise ValueError(f"compare takes two sides, got {len(sides)}: {list(sides)}")
    (a, (runs_a, loss_a)), (b, (runs_b, loss_b)) = sides.items()
    tallies = {d: {a: runs_a.tally(loss_a, d, budget), b: runs_b.tally(loss_b, d, budget)}
               for d in datasets}
    p = {d: stats.pvalue(t[a]["score"], t[b]["score"]) for d, t in tallies.items()}
    return {"tallies": tallies, "p": p, "holm": stats.holm(p)}


def tally_row(tally: dict, p: float, p_holm: float, p_label: str = "p") -> dict:
    """One side of :func:`compare` at one data set as a row of :func:`ganlib.plots.table`:
    per-seed covered modes and high-quality share, full coverage and settled counts, the mean
    score, and the test's p-value (column ``p_label``) before and after Holm's correction."""
    return {"covered modes per seed": " ".join(map(str, tally["modes"])),
            "high quality % per seed": " ".join(f"{h:.0f}" for h in tally["high_quality"]),
            "full coverage": f"{tally['full']}/{tally['n']}",
            "settled within noise": f"{tally['settled']}/{tally['n']}",
            "mean score": f"{np.mean(tally['score']):.2f}",
            p_label: f"{p:.3f}", "p, Holm": f"{p_holm:.3f}"}


def reproduced(stored: GridRuns, again: GridRuns, until: int | None = None) -> dict:
    """Whether ``again`` (the same grid trained again into another folder) gave the numbers
    of ``stored``: every 2-D metric and the divergence flag, compared as written, at every
    evaluation of every run finished in both. With ``until``, only the evaluations up to that
    step are compared, so a longer grid of the same seeds and settings can be checked against
    a shorter one over the steps both ran. Returns ``{"runs": [runs in both],
    "identical": [runs], "differ": {run: first step that differs}, "seconds": (training
    seconds recorded in stored, in again)}``."""
    fields = sweep.METRICS_2D + ("diverged",)
    both = sorted(set(stored.runs()) & set(again.runs()))
    identical, differ = [], {}

    def curve(runs, run):
        return {_step(r): r for r in runs.curve(run) if until is None or _step(r) <= until}

    for run in both:
        a, b = curve(stored, run), curve(again, run)
        bad = [s for s in sorted(set(a) | set(b)) if s not in a or s not in b
               or any(a[s][f] != b[s][f] for f in fields)]
        if bad:
            differ[run] = bad[0]
        else:
            identical.append(run)
    seconds = tuple(sum(float(g.final(r)["seconds"]) for r in both) for g in (stored, again))
    return {"runs": both, "identical": identical, "differ": differ, "seconds": seconds}
