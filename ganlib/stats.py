"""Statistics for comparing losses over a few seeds, fit for bounded, discrete metrics.

Modes covered is an integer between 0 and 8 (or 25), often equal to its maximum for every
seed; with 5 seeds a Student-t interval around such values reaches below 0 or above the
maximum, and assumes a normal distribution they do not have. Here instead:

* ``interval``: the percentile bootstrap of the mean, which stays inside the range of the
  values seen (so inside the metric's range), clipped to ``[low, high]`` when given;
* ``pvalue``: the exact two-sided permutation test of a difference of means between two
  groups (every split of the pooled values; 252 for 5 against 5), which is valid for any
  distribution and for ties. Its smallest possible value with 5 seeds each is 2/252 = 0.008;
* ``rank``: rank = 1 + the number of groups that are better with p < ``alpha``, so groups
  the test cannot separate share ranks (ties).

With many pairs, some p-values below ``alpha`` arise by chance: ``correction="holm"``
controls the family-wise error (Holm 1979), at the price of separating almost nothing with
5 seeds; the default reports each pair at ``alpha`` as it is, and the text should say so.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def interval(values, level: float = 0.95, low: float | None = None, high: float | None = None,
             n_boot: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, lower, upper)``: the percentile-bootstrap interval of the mean of ``values``
    at ``level``, clipped to ``[low, high]``; one value gives ``(v, v, v)``."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"interval needs a non-empty list of numbers, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (n_boot, len(x)))].mean(1)
    q = (1 - level) / 2
    lo, hi = np.quantile(means, [q, 1 - q])
    clip = (-math.inf if low is None else low, math.inf if high is None else high)
    return float(x.mean()), float(np.clip(lo, *clip)), float(np.clip(hi, *clip))


def pvalue(a, b) -> float:
    """Exact two-sided permutation p-value of ``mean(a) - mean(b)`` (every way of splitting
    the pooled values into groups of the two sizes; up to 12 values in all, sampled
    beyond)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("pvalue needs two non-empty groups")
    pooled, n = np.concatenate([a, b]), len(a)
    observed = abs(a.mean() - b.mean())
    if len(pooled) <= 12:
        splits = np.array(list(itertools.combinations(range(len(pooled)), n)))
    else:  # too many splits to list: a seeded Monte Carlo sample of them
        rng = np.random.default_rng(0)
        splits = np.argsort(rng.random((20_000, len(pooled))), axis=1)[:, :n]
    mask = np.zeros((len(splits), len(pooled)), dtype=bool)
    np.put_along_axis(mask, splits, True, axis=1)
    total = pooled.sum()
    mean_a = (mask * pooled).sum(1) / n
    mean_b = (total - mean_a * n) / len(b)
    # a small tolerance so that splits with the observed difference count despite rounding
    return float(np.mean(np.abs(mean_a - mean_b) >= observed - 1e-12))


def holm(pvalues: dict) -> dict:
    """Holm's step-down adjustment of a dict of p-values (same keys, adjusted values)."""
    keys = sorted(pvalues, key=pvalues.get)
    m, running, out = len(keys), 0.0, {}
    for i, k in enumerate(keys):
        running = max(running, min(1.0, (m - i) * pvalues[k]))
        out[k] = running
    return out


def pairwise(groups: dict, correction: str | None = None) -> dict:
    """p-value of every unordered pair of groups ``{key: values}``: ``{(a, b): p}``."""
    if correction not in (None, "holm"):
        raise ValueError(f"unknown correction {correction!r}: use None or 'holm'")
    keys = list(groups)
    p = {(a, b): pvalue(groups[a], groups[b]) for a, b in itertools.combinations(keys, 2)}
    return holm(p) if correction == "holm" and p else p


def rank(groups: dict, higher_is_better: bool, alpha: float = 0.05,
         correction: str | None = None, pvalues: dict | None = None) -> dict:
    """Rank of each group: 1 + the number of groups with a better mean and p < ``alpha``;
    groups the test does not separate share ranks. ``pvalues``, :func:`pairwise`'s result
    for these groups when the caller has it, saves computing it again (``correction`` is
    then the caller's)."""
    p = pairwise(groups, correction) if pvalues is None else pvalues
    sign = 1 if higher_is_better else -1
    mean = {k: sign * float(np.mean(v)) for k, v in groups.items()}

    def beats(o, k):
        return mean[o] > mean[k] and p.get((o, k), p.get((k, o), 1.0)) < alpha

    return {k: 1 + sum(beats(o, k) for o in groups if o != k) for k in groups}


def groups_of(rows: list[dict], metric: str, by=("loss", "data")) -> dict:
    """``{group key: [values]}`` of ``metric`` from sweep rows (diverged runs left out)."""
    out: dict[tuple, list[float]] = {}
    for r in rows:
        value = r.get(metric)
        if value not in (None, "") and str(r.get("diverged", "0")) in ("0", "0.0"):
            out.setdefault(tuple(r[k] for k in by), []).append(float(value))
    return out


def summary(groups: dict, low: float | None = None, high: float | None = None,
            level: float = 0.95) -> dict:
    """Per group: mean, bootstrap interval (clipped to ``[low, high]``), n and the values."""
    out = {}
    for key, values in groups.items():
        mean, lo, hi = interval(values, level, low, high)
        out[key] = {"mean": mean, "low": lo, "high": hi, "n": len(values),
                    "values": list(values)}
    return out
