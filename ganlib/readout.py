"""What a chapter may say about its runs: convergence checks and sentences chosen from the
numbers (glued into the Takeaways), so that no comparative claim is written by hand.

* :func:`settled` says whether a run's metric stopped moving over its last evaluations,
  :func:`run_settled` whether a 2-D run did (modes found, modes covered, sharpness), and
  :func:`settled_at` whether a longer run had by a given budget; a chapter reads a run as
  a property of the loss only when it has; :func:`rule_reliability` says how often the
  rule calls a generator that does not change settled (the counts' sampling noise), and
  :func:`noise_tolerances` widens the rule's tolerances to that noise (:func:`rule_noise`
  gives both from one set of draws); :func:`movement` says which way a run's counts went
  (still rising, falling, or both: an oscillation).
* :func:`verdict_2d` describes a 2-D result over seeds: full coverage, a collapse to some
  modes or a diffuse generator at convergence, or "too short to read" (with
  ``tolerances``, judged within each run's own sampling noise).
* :func:`meets_image_targets` checks an evaluator score (or a results row) against the
  book's image targets; :func:`verdict_image` describes a score against them
  (all 10 classes, recall >= 0.1, FD <= 100), and calls a run that misses them a failed
  run at that budget rather than a property of the loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

from ganlib import metrics

# a 2-D run "covers" the mixture when every mode is covered and this share of samples is
# high quality (within 3 std of a mode)
HIGH_QUALITY = 80.0
# the image targets of the cpu profile
IMAGE_TARGET = {"fd": 100.0, "recall": 0.1, "class_coverage": 1.0}


def settled(curve: Sequence[dict], key: str = "modes", last: int = 3,
            tol: float = 0.0) -> bool:
    """True when ``key`` varied by at most ``tol`` over the last ``last`` evaluations of
    ``curve`` (``Run.curve``: one dict per evaluation); False when there are fewer."""
    if last < 2:
        raise ValueError(f"last must be >= 2 (a change needs two points), got {last}")
    values = [float(point[key]) for point in curve[-last:]]
    return len(values) == last and max(values) - min(values) <= tol


# how far each count of a 2-D run may move over the last evaluations of a settled run
TOLERANCES = {"modes_radius": 0.0, "modes": 1.0, "high_quality": 10.0}


def run_settled(curve: Sequence[dict], last: int = 3,
                tolerances: Mapping[str, float] | None = None) -> bool:
    """A 2-D run has settled when, over its last ``last`` evaluations, the modes it found
    did not change, the modes it covers at the 3-std rule moved by at most one and its
    share of high-quality samples by at most 10 points (:data:`TOLERANCES`; ``tolerances``,
    for example :func:`noise_tolerances`, replaces them)."""
    tol = TOLERANCES if tolerances is None else tolerances
    return all(settled(curve, key, last, tol=tol[key]) for key in TOLERANCES)


def _fixed_generator_curves(samples: torch.Tensor, mixture, n_eval: int, trials: int,
                            last: int, seed: int):
    """``trials`` curves of ``last`` evaluations of one generator that does not change: each
    evaluation ``n_eval`` points drawn with replacement from ``samples``."""
    if len(samples) < 1 or n_eval < 1 or trials < 1:
        raise ValueError(f"need samples, n_eval >= 1 and trials >= 1; got {len(samples)} "
                         f"samples, n_eval={n_eval}, trials={trials}")
    flags = metrics.mode_flags(samples, mixture)
    gen = torch.Generator(device=samples.device).manual_seed(seed)
    for _ in range(trials):
        draws = [torch.randint(len(samples), (n_eval,), generator=gen, device=samples.device)
                 for _ in range(last)]
        yield [metrics.counts_from_flags(*(f[i] for f in flags), len(mixture.centers))
               for i in draws]


class RuleNoise(NamedTuple):
    """How the settled rule fares on one generator that does not change (:func:`rule_noise`)."""

    reliability: float  # the share of trials the rule calls settled
    tolerances: dict[str, float]  # the rule's tolerances widened to the counts' noise


def rule_noise(samples: torch.Tensor, mixture, n_eval: int, trials: int = 100, last: int = 3,
               q: float = 0.95, seed: int = 0) -> RuleNoise:
    """The settled rule against the counts' own sampling noise, from one set of draws.

    Each of ``trials`` times, ``last`` evaluations of ``n_eval`` points are drawn with
    replacement from ``samples`` (a run's stored samples: so they score one fixed generator
    whose distribution is those samples'). ``reliability`` is the share of trials that
    :func:`run_settled` calls settled. Near 1, the rule's "not settled" on a run like this
    one means that the run moved. Well below 1, the counts' noise trips it: a mode holding
    about the 20% share :func:`ganlib.metrics.covered` asks for is counted in one
    evaluation and not in the next, and the verdict cannot tell training from noise.
    ``tolerances`` are :data:`TOLERANCES` widened to that noise: for each count, the
    ``q``-quantile of how far it moves over the ``last`` evaluations, never less than the
    rule's own. With them, :func:`run_settled` calls such a generator settled in most of its
    evaluations (each count alone stays within its tolerance in about ``q`` of them), and
    "not settled" means moved beyond that noise."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q is a quantile in (0, 1), got {q}")
    passed, spans = 0, {key: [] for key in TOLERANCES}
    for curve in _fixed_generator_curves(samples, mixture, n_eval, trials, last, seed):
        passed += run_settled(curve, last)
        for key in TOLERANCES:
            values = [float(point[key]) for point in curve]
            spans[key].append(max(values) - min(values))
    tolerances = {key: max(TOLERANCES[key], float(torch.tensor(v).quantile(q)))
                  for key, v in spans.items()}
    return RuleNoise(passed / trials, tolerances)


def rule_reliability(samples: torch.Tensor, mixture, n_eval: int, trials: int = 100,
                     last: int = 3, seed: int = 0) -> float:
    """How often :func:`run_settled` calls a generator that does not change settled
    (:func:`rule_noise`'s ``reliability``)."""
    return rule_noise(samples, mixture, n_eval, trials, last, seed=seed).reliability


def noise_tolerances(samples: torch.Tensor, mixture, n_eval: int, trials: int = 100,
                     last: int = 3, q: float = 0.95, seed: int = 0) -> dict[str, float]:
    """:data:`TOLERANCES` widened to the counts' own noise (:func:`rule_noise`'s
    ``tolerances``)."""
    return rule_noise(samples, mixture, n_eval, trials, last, q, seed).tolerances


def settled_at(curve: Sequence[Mapping], budget: int, every: int, last: int = 3,
               tolerances: Mapping[str, float] | None = None) -> bool:
    """:func:`run_settled` as a run of ``budget`` steps scored every ``every`` steps sees it:
    on the evaluations of ``curve`` (dicts or results rows with ``step``) at multiples of
    ``every`` up to ``budget``, with the rule's ``tolerances``. False for a curve that does
    not reach ``budget``."""
    points = sorted((p for p in curve if int(p["step"]) <= budget
                     and int(p["step"]) % every == 0), key=lambda p: int(p["step"]))
    return (bool(points) and int(points[-1]["step"]) == budget
            and run_settled(points[-last:], last, tolerances))


def movement(curve: Sequence[Mapping], tolerances: Mapping[str, float] | None = None) -> str:
    """How a 2-D run's counts moved over ``curve`` (its evaluations in order): "settled" when
    none moved beyond its tolerance (:data:`TOLERANCES`, or ``tolerances`` such as
    :func:`noise_tolerances`; over three evaluations this is :func:`run_settled`), "rising"
    when some count rose beyond it and none fell, "falling" when some fell and none rose,
    "rising and falling" otherwise. Every count is better higher, so "rising" is a run still
    improving and "rising and falling" one that oscillates."""
    if len(curve) < 2:
        raise ValueError(f"movement needs at least two evaluations, got {len(curve)}")
    tol = TOLERANCES if tolerances is None else tolerances
    rose = fell = False
    for key in TOLERANCES:
        values = [float(point[key]) for point in curve]
        pairs = [(a, b) for i, a in enumerate(values) for b in values[i + 1:]]
        rose |= max(b - a for a, b in pairs) > tol[key]
        fell |= max(a - b for a, b in pairs) > tol[key]
    return {(False, False): "settled", (True, False): "rising", (False, True): "falling",
            (True, True): "rising and falling"}[rose, fell]


def full_coverage(m) -> bool:
    """Every mode covered with at least :data:`HIGH_QUALITY` % high-quality samples."""
    return m.modes == m.total_modes and m.high_quality >= HIGH_QUALITY


def full_coverage_row(row: Mapping) -> bool:
    """:func:`full_coverage` of a results row (a sweep's CSV row: values as text)."""
    return (int(float(row["modes"])) == int(row["total_modes"])
            and float(row["high_quality"]) >= HIGH_QUALITY)


def verdict_2d(metrics: Sequence, curves: Sequence[Sequence[dict]] | None = None,
               steps: int | None = None,
               tolerances: Sequence[Mapping[str, float]] | None = None,
               subject: str = "the loss") -> str:
    """One sentence on a loss's 2-D runs (one :class:`~ganlib.metrics.ModeMetrics` per
    seed, and their curves when scored along the way). With ``tolerances`` (one mapping per
    run, :func:`noise_tolerances` of its final samples) each run is judged settled within
    its counts' own sampling noise rather than by the rule's fixed tolerances. ``subject``
    names what the runs vary (for example "the activation" where the loss is fixed), in the
    sentences that warn against reading a run as its property."""
    if not metrics:
        raise ValueError("verdict_2d needs the metrics of at least one run")
    n, total = len(metrics), metrics[0].total_modes
    runs = "the run" if n == 1 else f"{n} seeds"
    modes = sorted(m.modes for m in metrics)
    found = sorted(m.modes_radius for m in metrics)
    if tolerances is not None and (curves is None or len(tolerances) != len(curves)):
        raise ValueError(f"tolerances need one mapping per curve; got "
                         f"{len(tolerances)} for {0 if curves is None else len(curves)} curves")
    tols = [None] * n if tolerances is None else list(tolerances)
    unsettled = [] if curves is None else [i for i, (c, t) in enumerate(zip(curves, tols))
                                           if not run_settled(c, tolerances=t)]
    if unsettled:
        when = f" after {steps:,} steps" if steps else ""
        who = "the run" if n == 1 else f"{len(unsettled)} of {runs}"
        beyond = " beyond the counts' sampling noise" if tolerances is not None else ""
        return (f"{who} had not settled{when} (modes or sharpness still changing{beyond} over "
                f"the last evaluations): too short to read as a property of {subject}")
    if found[-1] == 0:
        return (f"no samples near any mode in {runs}: training failed at these settings, and "
                f"a failed run alone does not show that {subject} is the cause")
    good = sum(full_coverage(m) for m in metrics)
    hq = sorted(round(m.high_quality) for m in metrics)
    if good == n:
        lowest = min(m.high_quality for m in metrics)  # floored: 99.96% is not "100%"
        share = ("every sample high quality" if lowest >= 100 else
                 f"at least {math.floor(lowest)}% high-quality samples")
        return (f"all {total} modes with {share} in "
                f"{'the run' if n == 1 else f'every one of {n} seeds'}")
    if good:
        return (f"all {total} modes with at least {HIGH_QUALITY:.0f}% high quality in {good} "
                f"of {n} seeds; the others cover {_span(modes[:n - good])} of {total}")
    if found[-1] == total and modes[-1] < total:
        return (f"samples near every mode (all {total} within 0.3 spacings in at least one "
                f"seed) but not sharp: {_span(modes)} of {total} modes at the 3-std rule, "
                f"{_span(hq)}% high quality")
    if modes[-1] == 0:  # nothing sharp anywhere: blurred, not collapsed
        return (f"no mode covered at the 3-std rule in {runs} ({_span(hq)}% high-quality "
                f"samples), with samples near {_span(found)} of {total} modes: a diffuse "
                "generator that also misses part of the mixture")
    return f"{_span(modes)} of {total} modes in {runs}: a collapse onto part of the mixture"


def verdict_image(m) -> str:
    """One sentence on an evaluator score (:class:`~ganlib.evaluator.ImageMetrics`)."""
    classes = round(10 * m.class_coverage)
    floor = f" (floor {m.floor.fd:.2f})" if m.floor is not None else ""
    numbers = f"FD {m.fd:.0f}{floor}, recall {m.recall:.2f}, {classes} of 10 classes"
    if meets_image_targets(m):
        return f"meets the book's image targets: {numbers}"
    short = [k for k, v in IMAGE_TARGET.items() if not _meets(m, k, v)]
    return (f"misses the book's image targets ({', '.join(_NAMES[k] for k in short)}): "
            f"{numbers}; one run that missed them at this budget does not by itself show a "
            "property of the loss")


_NAMES = {"fd": "FD <= 100", "recall": "recall >= 0.1", "class_coverage": "all 10 classes"}


def meets_image_targets(m) -> bool:
    """Whether a score meets every :data:`IMAGE_TARGET`: an
    :class:`~ganlib.evaluator.ImageMetrics`, or a results row (a mapping, as
    :func:`ganlib.sweep.read_rows` gives) with ``fd``, ``recall`` and ``class_coverage``."""
    return all(_meets(m, k, v) for k, v in IMAGE_TARGET.items())


def _meets(m, key: str, target: float) -> bool:
    value = float(m[key] if isinstance(m, Mapping) else getattr(m, key))
    return value <= target if key == "fd" else value >= target


def _span(values: Sequence) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"
