"""A loss's committed runs at equal learning rates and at its two time-scale ratio, side by
side, as the chapters of the losses whose ratio a search changed read them.

The settings page's third search chooses the discriminator's learning rate as a multiple of
the generator's (``lr_d_x``) on two seeds and 6,000 steps. Once a loss takes a ratio other
than 1, the grids the chapters read hold its runs at that ratio beside those it had at equal
rates, five seeds each, so the choice can be read on seeds the search did not see::

    got = two_rates.readings("wgan-gp", "notebooks/results/search", budget=8_000)
    parts, verdict = two_rates.describe(got, seen=[0, 1])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganlib import data, settings, stats, sweep
from ganlib.grid_runs import GridRuns, compare, tally_row

# (grid, folder, steps or None for the budget, mixtures): the comparison's grid, read at the
# budget, and each mixture's 16,000-step grid; the comparison's grid as first made, which also
# holds its equal-rate cells (its cells at the settings' ratio are the same runs, bit for bit,
# as those of its timed run in convergence-rerun/, which the other chapters read)
GRIDS = (("convergence.json", "convergence", None, ("ring8", "grid25")),
         ("convergence_long_ring8.json", "convergence-long-ring8", 16_000, ("ring8",)),
         ("convergence_long_grid25.json", "convergence-long-grid25", 16_000, ("grid25",)))
WHERE = {"ring8": "the ring", "grid25": "the grid"}
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def readings(loss: str, root: str | Path, budget: int, grids=GRIDS) -> dict:
    """``loss``'s runs under ``root`` at equal rates (the grids with ``"lr_d_x": 1``) and at
    the settings' ratio (the grids as the chapters read them), each mixture read at each
    grid's steps, seed by seed, with the permutation test on the mean score
    (:func:`ganlib.grid_runs.compare`) and Holm's correction over all the readings.
    Returns ``{"x": ratio, "tallies": {(mixture, steps): {1: tally, x: tally}}, "p": {...},
    "holm": {...}, "seeds": {(mixture, steps): [seeds]}}``."""
    x = settings.objective(loss, "ring8").lr_d_x
    if x == 1:
        raise ValueError(f"{loss} trains at equal rates: there is no second ratio to read "
                         "(settings.SEARCHED_LR_D_X names the losses that have one)")
    root = Path(root)
    out = {"x": x, "tallies": {}, "p": {}, "seeds": {}}
    for name, folder, steps, mixtures in grids:
        steps = steps or budget
        grid = {**sweep.load_grid(root / name), "loss": [loss]}
        at = {1: GridRuns({**grid, "lr_d_x": 1}, root / folder), x: GridRuns(grid, root / folder)}
        got = compare({k: (r, loss) for k, r in at.items()}, steps, mixtures)
        for mix in mixtures:
            seeds = {k: [run[2] for run in r.runs(loss, mix, diverged=False)]
                     for k, r in at.items()}
            if seeds[1] != seeds[x]:
                raise ValueError(f"{loss} on {mix} in {folder}: the two ratios finished "
                                 f"different seeds ({seeds[1]} and {seeds[x]}); run the "
                                 "missing cells with `python -m ganlib sweep`")
            out["tallies"][mix, steps] = got["tallies"][mix]
            out["p"][mix, steps] = got["p"][mix]
            out["seeds"][mix, steps] = seeds[x]
    out["holm"] = stats.holm(out["p"])
    return out


def table(got: dict) -> dict:
    """The readings as rows for :func:`ganlib.plots.table`, one per mixture, steps and ratio
    (:func:`ganlib.grid_runs.tally_row`)."""
    return {f"{mix}, {steps:,} steps, x{k:g}": tally_row(
                t[k], got["p"][mix, steps], got["holm"][mix, steps],
                p_label=f"p (x{got['x']:g} against x1)")
            for (mix, steps), t in got["tallies"].items() for k in (1, got["x"])}


def _seeds(seeds) -> str:
    seeds = [str(s) for s in seeds]
    return seeds[0] if len(seeds) == 1 else ", ".join(seeds[:-1]) + " and " + seeds[-1]


def describe(got: dict, seen) -> tuple[str, str]:
    """What the readings say, as text for the chapter (chosen from the numbers): each
    reading, and a verdict: where the test separates the ratios, and, on each mixture's
    longest reading, the seeds that covered no mode at the 3-std rule at the ratio but some
    at equal rates, and whether any of them is a seed the search ran (``seen``)."""
    x, tallies = got["x"], got["tallies"]
    times = "twice the rate" if x == 2 else f"{x:g} times the rate"
    parts = [f"on {WHERE[mix]} at {steps:,} steps, {t[x]['full']} of {t[x]['n']} seeds at full "
             f"coverage at {times} and {t[1]['full']} at equal rates (mean score "
             f"{np.mean(t[x]['score']):.2f} against {np.mean(t[1]['score']):.2f}, "
             f"p = {got['p'][mix, steps]:.3f})" for (mix, steps), t in tallies.items()]
    separated = [k for k in got["p"] if got["holm"][k] < 0.05]
    if not separated:
        n, sizes = len(got["p"]), {t[k]["n"] for t in tallies.values() for k in t}
        seeds = _WORDS.get(min(sizes), str(min(sizes))) + ("" if len(sizes) == 1 else " or more")
        verdict = (f"with {seeds} seeds a side the test separates the two ratios in none of the "
                   f"{_WORDS.get(n, str(n))} readings")
    else:
        verdict = "the test separates the two ratios " + " and ".join(
            f"on {WHERE[m]} at {s:,} steps, in favour of "
            + (times if np.mean(tallies[m, s][x]["score"]) > np.mean(tallies[m, s][1]["score"])
               else "equal rates") for m, s in separated)
    seen = list(seen)
    for (mix, steps), t in tallies.items():
        if steps != max(s for m, s in tallies if m == mix):
            continue  # each mixture's longest reading
        lost = [i for i, (a, b) in enumerate(zip(t[x]["modes"], t[1]["modes"])) if a == 0 < b]
        if not lost:
            continue
        named = [got["seeds"][mix, steps][i] for i in lost]
        before = [t[1]["modes"][i] for i in lost]
        many = len(named) > 1
        verdict += (f"; but on {WHERE[mix]} at {steps:,} steps the seeds split: at {times} "
                    f"seed{'s' if many else ''} {_seeds(named)} covered no mode at the 3-std "
                    f"rule (at most {max(t[x]['high_quality'][i] for i in lost):.0f}% high "
                    f"quality), where at equal rates {'they' if many else 'it'} covered "
                    f"{min(before)}" + (f" to {max(before)}" if max(before) > min(before) else "")
                    + f" of {len(data.MIXTURES[mix]().centers)}")
        if not set(named) & set(seen):
            others = sum(s not in seen for s in got["seeds"][mix, steps])
            verdict += (f"; none of {'them is' if many else 'it is'} a seed the search ran, so "
                        f"its {_WORDS.get(len(seen), str(len(seen)))} seeds did not predict "
                        f"the other {_WORDS.get(others, str(others))} there")
    return "; ".join(parts), verdict
