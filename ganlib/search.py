"""The searches behind the settings (:mod:`ganlib.settings`): the score a 2-D run gets, the
rule that picks a value from a grid of runs, and what each search picked.

Every unconditional loss gets the same searches (Lucic et al.'s rule: the same budget for
every loss), run with ``python -m ganlib sweep`` on the grids in
``notebooks/results/search``: first the learning rate (1, 5 and 15 times the paper's),
then, at the rate chosen, the discriminator updates per generator step (two values besides
the loss's own). ``choose_lr`` and ``choose_n_critic`` apply one rule to both: each run's
:func:`search_score` over its last evaluations, the mean over seeds and both mixtures, the
best mean, the paper's value kept in a near tie. ``SEARCHED_LR`` and ``SEARCHED_N_CRITIC``
hold what they picked for the losses whose every cell has finished (the tests check them
against the committed runs); ``N_CRITIC_PENDING``, values picked but not yet adopted.
"""

from __future__ import annotations

import math

from ganlib import losses
from ganlib.shards import parse_params

# the learning rates the search (notebooks/results/search/lr_search.json, rule: choose_lr)
# picked for the losses whose every cell has finished, with the mean score of each rate;
# tests/test_settings.py checks them against the committed results
SEARCHED_LR = {
    "minimax": (1e-3, {2e-4: 0.37, 1e-3: 0.88, 3e-3: 0.20}),
    "nonsaturating": (1e-3, {2e-4: 0.43, 1e-3: 0.77, 3e-3: 0.64}),
    "lsgan": (1e-3, {2e-4: 0.21, 1e-3: 0.69, 3e-3: 0.44}),
    # every rate fails at 6,000 steps (blurred modes): a tie, so the paper's rate stays
    "wgan": (5e-5, {5e-5: 0.01, 2.5e-4: 0.04, 7.5e-4: 0.0}),
    # every rate fails (no or few sharp modes): a tie, so the paper's rate stays
    "dragan": (2e-4, {2e-4: 0.0, 1e-3: 0.04, 3e-3: 0.01}),
    # 1e-3 and 3e-3 tie (within 0.05): the one nearer the paper's rate
    "hinge": (1e-3, {2e-4: 0.36, 1e-3: 0.54, 3e-3: 0.54}),
    "ebgan": (1e-3, {2e-4: 0.14, 1e-3: 0.21, 3e-3: 0.14}),
    "wgan-gp": (5e-4, {1e-4: 0.17, 5e-4: 0.23, 1.5e-3: 0.0}),
    # every rate scores under 0.1 (few sharp modes): a tie, so the paper's rate stays
    "began": (2e-4, {2e-4: 0.05, 1e-3: 0.07, 3e-3: 0.05}),
    # 1e-3 and 3e-3 tie (within 0.05): the one nearer the paper's rate
    "ragan": (1e-3, {2e-4: 0.2, 1e-3: 0.77, 3e-3: 0.81}),
    "r1": (1e-3, {2e-4: 0.22, 1e-3: 0.73, 3e-3: 0.73}),
    # 2e-4 and 1e-3 tie (within 0.05): the paper's rate
    "infogan": (2e-4, {2e-4: 0.59, 1e-3: 0.54, 3e-3: 0.43}),
}
# the discriminator updates per generator step the second search
# (notebooks/results/search/ncritic_search*.json, rule: choose_n_critic) picked, for the losses
# whose every cell has finished and whose grids ran at that value, with the mean score of
# each value; tests/test_settings.py checks them against the committed results
SEARCHED_N_CRITIC = {
    "minimax": (1, {1: 0.88, 2: 0.27, 5: 0.08}),
    "nonsaturating": (1, {1: 0.77, 2: 0.64, 5: 0.4}),
    "lsgan": (1, {1: 0.69, 2: 0.4, 5: 0.3}),
    "wgan": (5, {1: 0.0, 2: 0.0, 5: 0.01}),  # every value fails: a tie, the paper's stays
    "wgan-gp": (5, {1: 0.11, 2: 0.0, 5: 0.23}),
    "hinge": (2, {1: 0.54, 2: 0.88, 5: 0.52}),
    "dragan": (5, {1: 0.0, 2: 0.05, 5: 0.31}),
    "ebgan": (1, {1: 0.21, 2: 0.14, 5: 0.18}),
    # every value scores under 0.1 (few sharp modes): a tie, the paper's stays
    "began": (1, {1: 0.05, 2: 0.08, 5: 0.08}),
    "ragan": (1, {1: 0.77, 2: 0.6, 5: 0.49}),
    "r1": (1, {1: 0.73, 2: 0.64, 5: 0.47}),
    "infogan": (1, {1: 0.59, 2: 0.46, 5: 0.29}),
}
# chosen by the same search but not yet the settings: the grids the chapters read are being
# rerun at the new value first (notebooks/results/search/README.md), so that no chapter reads
# runs trained at one value as runs of the other
N_CRITIC_PENDING: dict[str, tuple[int, dict[int, float]]] = {}
# the discriminator's learning rate as a multiple of the generator's that the third search
# (notebooks/results/search/ttur_search.json, rule: choose_lr_d_x) picked, adopted as
# SEARCHED_N_CRITIC's are (the losses not named here keep equal rates, the papers' 1), and
# those picked but not yet adopted
SEARCHED_LR_D_X: dict[str, tuple[float, dict[float, float]]] = {
    "wgan-gp": (2, {1.0: 0.23, 2.0: 0.45, 4.0: 0.42}),  # 2 and 4 tie: the one nearer 1
    "dragan": (2, {1.0: 0.31, 2.0: 0.36, 4.0: 0.34}),  # 1 is 0.0503 below the best: no tie
}
LR_D_X_PENDING: dict[str, tuple[float, dict[float, float]]] = {}


def search_score(row: dict) -> float:
    """A 2-D result as one number in [0, 1]: the share of modes covered times the share of
    high-quality samples (1 for a perfect sampler; a collapse onto few sharp modes and a
    blur over all of them both score low)."""
    return (int(row["modes"]) / int(row["total_modes"])) * float(row["high_quality"]) / 100.0


def _choose(rows: list[tuple[float, dict]], reference: float,
            last: int) -> tuple[float, dict[float, float]]:
    """The search's rule over ``(value, row)`` pairs: each cell's :func:`search_score`
    averaged over its ``last`` evaluations, then over seeds and mixtures; the best mean wins,
    and of the values within 0.05 of it, the one nearest ``reference`` (in ratio)."""
    cells: dict[tuple, list[tuple[int, float]]] = {}
    for value, r in rows:
        score = 0.0 if r.get("diverged") == "1" else search_score(r)
        cells.setdefault((value, r["data"], r["seed"]), []).append((int(r["step"]), score))
    per_value: dict[float, list[float]] = {}
    for (value, _, _), points in cells.items():
        scores = [q for _, q in sorted(points)[-last:]]
        per_value.setdefault(value, []).append(sum(scores) / len(scores))
    means = {v: sum(s) / len(s) for v, s in sorted(per_value.items())}
    best = max(means.values())
    near = [v for v, m in means.items() if m >= best - 0.05]
    return min(near, key=lambda v: abs(math.log(v / reference))), means


def choose_lr(rows: list[dict], loss: str, last: int = 2,
              lrs: list[float] | None = None) -> tuple[float, dict[float, float]]:
    """The learning rate the search picks for ``loss`` from its sweep ``rows`` (scored along
    the way, ``eval_every``): each cell's :func:`search_score` averaged over its ``last``
    evaluations (runs oscillate; one snapshot would pick by luck), then over seeds and both
    mixtures; the best mean wins, and of learning rates within 0.05 of it, the one nearest
    the paper's (in ratio). Only ``lrs`` count, when given (the grid's). Returns the choice
    and the mean score of every learning rate. A diverged run scores 0."""
    mine = [(float(r["lr"]), r) for r in rows if r["loss"] == loss
            and (lrs is None or any(math.isclose(float(r["lr"]), x) for x in lrs))]
    if not mine:
        raise ValueError(f"no search rows for {loss!r}")
    return _choose(mine, losses.get(loss).lr, last)


def choose_n_critic(rows: list[dict], own_rows: list[dict], loss: str,
                    last: int = 2) -> tuple[int, dict[int, float]]:
    """The discriminator updates per generator step that the second search picks for
    ``loss``, by :func:`choose_lr`'s rule, the paper's value kept in a near tie: ``rows``
    are the search's (each cell's ``params`` hold its ``n_critic``), ``own_rows`` the
    learning-rate search's, whose cells at the rate it chose (``SEARCHED_LR``) stand for the
    paper's value. Returns the choice and the mean score of every value."""
    own = losses.get(loss).n_critic
    lr = SEARCHED_LR[loss][0] if loss in SEARCHED_LR else None
    mine = [(own, r) for r in own_rows
            if r["loss"] == loss and lr is not None and math.isclose(float(r["lr"]), lr)]
    mine += [(parse_params(r.get("params")).get("n_critic", own), r) for r in rows
             if r["loss"] == loss]
    if len({v for v, _ in mine}) < 2:
        raise ValueError(f"no n_critic search rows for {loss!r} beside its own value ({own}) "
                         "at its searched learning rate")
    return _choose(mine, own, last)


def choose_lr_d_x(rows: list[dict], own_rows: list[dict], loss: str,
                  last: int = 2) -> tuple[float, dict[float, float]]:
    """The ratio of the discriminator's learning rate to the generator's (two time-scales)
    that the third search picks for ``loss``, by :func:`choose_lr`'s rule, equal rates kept
    in a near tie: ``rows`` are the search's (each cell's ``lr_d_x``), ``own_rows`` the
    earlier searches' (learning rate and n_critic), whose cells at the chosen rate and
    n_critic stand for equal rates. Returns the choice and the mean score of every ratio."""
    lr = SEARCHED_LR[loss][0] if loss in SEARCHED_LR else None
    own = losses.get(loss).n_critic
    n = SEARCHED_N_CRITIC[loss][0] if loss in SEARCHED_N_CRITIC else own
    mine = [(1.0, r) for r in own_rows
            if r["loss"] == loss and lr is not None and math.isclose(float(r["lr"]), lr)
            and not r.get("lr_d_x")
            and parse_params(r.get("params")).get("n_critic", own) == n]
    mine += [(float(r["lr_d_x"]), r) for r in rows if r["loss"] == loss and r.get("lr_d_x")]
    if len({v for v, _ in mine}) < 2:
        raise ValueError(f"no lr_d_x search rows for {loss!r} beside equal rates at its "
                         "searched learning rate and n_critic")
    return _choose(mine, 1.0, last)
