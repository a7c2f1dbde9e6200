"""Settings that fit the data: each loss's hyperparameters per dataset, with their sources.

A loss's factory in :mod:`ganlib.losses` carries its paper's values, chosen for images.
Some of them are lengths or squared lengths in the data's own units, and do not carry over
to the 2-D mixtures, whose modes have a standard deviation of 0.02 (ring8) or 0.05 (grid25):

* **R1/R2's** :math:`\\gamma` weighs a squared input gradient. Rescaling the data by
  :math:`a` divides the gradients by :math:`a`, so the same penalty needs :math:`\\gamma a^2`.
  Chapter 12's Dirac-GAN converges fastest at :math:`\\gamma = 2 f'(0) = 1` with the data
  at unit distance; with the mode's standard deviation :math:`\\sigma` as that unit, the
  scaled weight is :math:`\\gamma = \\sigma^2` (a discriminator that changes its logit by
  one across a mode then pays a penalty of order one, like its loss; at :math:`\\gamma = 10`
  it would pay :math:`10^4` and stays flat).
* **DRAGAN's** :math:`c` is the variance of the perturbation. "Around the data" means
  inside the mode's own cell: two standard deviations of the perturbation are set to half
  the distance between neighbouring modes, :math:`\\sqrt c = s/4` (the paper's
  :math:`c = 10`, a standard deviation of 3.2, is larger than grid25's spacing of 2).
* **EBGAN's** pull-away term needs codes of more than one dimension; the 2-D autoencoder's
  code is one number (a bottleneck, so that it cannot reconstruct every point), so the
  term is off there.
* **WGAN-GP's** :math:`\\lambda` weighs :math:`(\\lVert\\nabla D\\rVert - 1)^2`, which has no
  unit; it is kept.

On the mixtures, training oscillates in and out of sharp, full coverage even after it has
found every mode; the settings score the exponential moving average of the generator's
weights (``ema``, decay 0.999), which the measurement in ``notebooks/results/search/ema``
found to hold still where G itself oscillates.

Learning rates are set per loss from a search with the same budget for every loss
(``notebooks/results/search``); until a loss has one, the value says where it comes from.
``objective(name, data)`` builds a loss with the settings for ``data``;
``objective(name, data, paper=True)`` with its paper's values. ``rows()`` and ``markdown()``
give the table with every value's source beside the paper's value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ganlib.objective import Objective

DATASETS = ("ring8", "grid25", "fashion-mnist")
# the mixtures' geometry (ganlib.data): the mode std and the distance between neighbours
_MIXTURES = {"ring8": {"std": 0.02, "spacing": 2 * 2.0 * math.sin(math.pi / 8)},
             "grid25": {"std": 0.05, "spacing": 2.0}}


@dataclass(frozen=True)
class Setting:
    """One hyperparameter of one loss on one dataset."""

    loss: str
    data: str
    key: str  # the keyword of losses.get (or "batch", for the record)
    value: object
    paper: object  # the paper's value, for comparison
    source: str  # "paper", "book" (the book's shared choice), "scaled" (from the data's
    # geometry) or "pilot" (one measured run)
    reason: str


def _paper(name: str) -> dict:
    """The paper's values of the hyperparameters this module may change."""
    from ganlib import losses

    obj = losses.get(name)
    out = {"optimizer": obj.optimizer, "lr": obj.lr, "n_critic": obj.n_critic}
    if obj.optimizer == "adam":
        out["betas"] = obj.betas
    for key, param in _PENALTY_PARAMS.get(name, ()):
        out[key] = obj.params[param]
    return out


# the penalty weights each loss has: (keyword of losses.get, name in Objective.params)
_PENALTY_PARAMS = {"r1": (("gamma", "gamma"),), "dragan": (("lam", "lambda"), ("c", "c")),
                   "wgan-gp": (("lam", "lambda"),)}


def settings(name: str, data: str, pair: str | None = None) -> list[Setting]:
    """The settings of loss ``name`` on ``data`` ("ring8", "grid25" or "fashion-mnist");
    on Fashion-MNIST, for the image networks ``pair`` ("image", the paper's pair and
    settings, by default; "image-small", the small pair the ``cpu`` profile trains)."""
    from ganlib import losses

    if name not in losses.names():
        raise ValueError(f"unknown loss {name!r}; known losses: {', '.join(losses.names())}")
    if data not in DATASETS:
        raise ValueError(f"unknown data {data!r}: use one of {DATASETS}")
    paper = _paper(name)
    rows = [Setting(name, data, k, v, v, "paper", _PAPER_REASON) for k, v in paper.items()]
    image = data == "fashion-mnist"
    rows.append(Setting(name, data, "batch", 64 if image else 256, 64,
                        "paper" if image else "book",
                        _PAPER_REASON if image else "the book's 2-D batch; 64 is for images"))
    if data == "fashion-mnist":
        if pair not in (None, "image", "image-small"):
            raise ValueError(f"unknown image pair {pair!r}: use 'image' or 'image-small'")
        if pair != "image-small":
            return rows
        by_key = {r.key: r for r in rows}
        by_key["lr"] = Setting(name, data, "lr", round(SMALL_PAIR_LR_X * paper["lr"], 12),
                               paper["lr"], "pilot", _SMALL_LR_REASON)
        by_key["ema"] = Setting(name, data, "ema", EMA_DECAY, 0.0, "pilot", _SMALL_EMA_REASON)
        return list(by_key.values())
    mix = _MIXTURES[data]
    by_key = {r.key: r for r in rows}
    if name in SEARCHED_LR:
        lr, means = SEARCHED_LR[name]
        scores = ", ".join(f"{v:.2f} at {k:g}" for k, v in means.items())
        by_key["lr"] = Setting(name, data, "lr", lr, paper["lr"], "search",
                               f"learning-rate search, the same for every loss (1, 5 and 15 "
                               f"times the paper's rate, 2 seeds, both mixtures, 6,000 steps): "
                               f"mean score {scores}")
    elif paper["lr"] == 2e-4:  # the DCGAN setting, which the pilot measured
        by_key["lr"] = Setting(name, data, "lr", 1e-3, paper["lr"], "pilot",
                               "non-saturating, ring8, one seed: 3/8 modes at 2e-4 after "
                               "8,000 steps, 8/8 at 1e-3 from step 4,000; used for every "
                               "loss on Adam 2e-4 until the search sets it")
    if name in SEARCHED_N_CRITIC:
        n, means = SEARCHED_N_CRITIC[name]
        scores = ", ".join(f"{v:.2f} at {k}" for k, v in means.items())
        by_key["n_critic"] = Setting(name, data, "n_critic", n, paper["n_critic"], "search",
                                     f"n_critic search at the searched rate, the same for "
                                     f"every loss (two values besides the loss's own, 2 "
                                     f"seeds, both mixtures, 6,000 steps): mean score "
                                     f"{scores}")
    if "gamma" in paper:
        by_key["gamma"] = Setting(name, data, "gamma", round(mix["std"] ** 2, 6), paper["gamma"],
                                  "scaled", f"gamma = std^2 = {mix['std']}^2: chapter 12's "
                                  "critical gamma = 1 with the mode's std as the unit length")
    if "c" in paper:
        c = (mix["spacing"] / 4) ** 2
        by_key["c"] = Setting(name, data, "c", round(c, 4), paper["c"], "scaled",
                              f"perturbation std sqrt(c) = {mix['spacing']:.2f}/4: two stds "
                              "reach half-way to the neighbouring mode")
    by_key["ema"] = Setting(name, data, "ema", EMA_DECAY, 0.0, "pilot", _EMA_REASON)
    if name == "infogan" and data == "grid25":
        by_key["n_categories"] = Setting(name, data, "n_categories", 25, 8, "book",
                                         "one value of the categorical code per mode, as on "
                                         "ring8 (8), so that codes can match modes")
    if name == "ebgan":
        by_key["pt_weight"] = Setting(name, data, "pt_weight", 0.0, 0.1, "book",
                                      "the 2-D autoencoder's code is 1-D (its bottleneck), "
                                      "where every cosine is +-1: the pull-away term is "
                                      "constant")
    return list(by_key.values())


EMA_DECAY = 0.999
# the learning rates the search (notebooks/results/search/lr_search.json, rule: choose_lr)
# picked for the losses whose every cell has finished, with the mean score of each rate;
# tests/test_settings.py checks them against the committed results
# the discriminator updates per generator step the second search
# (notebooks/results/search/ncritic_search*.json, rule: choose_n_critic) picked, for the losses
# whose every cell has finished and whose grids ran at that value, with the mean score of
# each value; tests/test_settings.py checks them against the committed results
SEARCHED_N_CRITIC = {
    "wgan": (5, {1: 0.0, 2: 0.0, 5: 0.01}),  # every value fails: a tie, the paper's stays
    "wgan-gp": (5, {1: 0.11, 2: 0.0, 5: 0.23}),
    "ebgan": (1, {1: 0.21, 2: 0.14, 5: 0.18}),
    "infogan": (1, {1: 0.59, 2: 0.46, 5: 0.29}),
}
# chosen by the same search but not yet the settings: the grids the chapters read are being
# rerun at the new value first (notebooks/results/search/README.md), so that no chapter reads
# runs trained at one value as runs of the other
N_CRITIC_PENDING = {"dragan": (5, {1: 0.0, 2: 0.05, 5: 0.31})}
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
_EMA_REASON = ("non-saturating, ring8, 5 seeds, lr 1e-3: from step 2,500 to 6,000 the average "
               "held 8/8 modes with >= 88% high quality in 4 seeds at every 500 steps; G "
               "itself did in 1 to 4 (3 at step 6,000)")
_PAPER_REASON = "the paper's, or the collections' where the paper gives none"
# the small image pair (models.pair("image-small")), measured by benchmarks/image_pair.py
SMALL_PAIR_LR_X = 2.5
_SMALL_LR_REASON = ("image-pair study, non-saturating, one seed: at 5e-4 FD 126 after 3,000 "
                    "steps and 76 after 6,000, at the paper's 2e-4 FD 176 and 123; 2.5 times "
                    "the paper's rate for every loss on the small pair until a search sets it")
_SMALL_EMA_REASON = ("image-pair study, non-saturating at 5e-4: the average scores FD 76.1 at "
                     "step 6,000 against 74.4 for G itself (105 against 96 at step 4,000, "
                     "where it still carries the earlier, worse weights); kept for the same "
                     "reading as on the mixtures")


def objective(name: str, data: str, paper: bool = False, pair: str | None = None,
              **params) -> Objective:
    """Loss ``name`` with its settings for ``data`` (``paper=True``: the paper's values);
    ``params`` override either. ``pair`` is the image networks' kind ("image" or
    "image-small", which sizes InfoGAN's Q head); it has no effect on 2-D data."""
    from ganlib import losses

    chosen = ({} if paper else
              {s.key: s.value for s in settings(name, data, pair) if s.key != "batch"})
    if name == "infogan":
        chosen["kind"] = (pair or "image") if data == "fashion-mnist" else "2d"
    return losses.get(name, **{**chosen, **params})


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
    return _choose(mine, _paper(loss)["lr"], last)


def _n_critic(params: str | None, own: int) -> int:
    """The ``n_critic`` a cell's ``params`` text (``"n_critic=5"``) gives, else ``own``."""
    found = dict(item.partition("=")[::2] for item in (params or "").split(",") if item)
    return int(found.get("n_critic", own))


def choose_n_critic(rows: list[dict], own_rows: list[dict], loss: str,
                    last: int = 2) -> tuple[int, dict[int, float]]:
    """The discriminator updates per generator step that the second search picks for
    ``loss``, by :func:`choose_lr`'s rule, the paper's value kept in a near tie: ``rows``
    are the search's (each cell's ``params`` hold its ``n_critic``), ``own_rows`` the
    learning-rate search's, whose cells at the rate it chose (``SEARCHED_LR``) stand for the
    paper's value. Returns the choice and the mean score of every value."""
    own = _paper(loss)["n_critic"]
    lr = SEARCHED_LR[loss][0] if loss in SEARCHED_LR else None
    mine = [(own, r) for r in own_rows
            if r["loss"] == loss and lr is not None and math.isclose(float(r["lr"]), lr)]
    mine += [(_n_critic(r.get("params"), own), r) for r in rows if r["loss"] == loss]
    if len({v for v, _ in mine}) < 2:
        raise ValueError(f"no n_critic search rows for {loss!r} beside its own value ({own}) "
                         "at its searched learning rate")
    return _choose(mine, own, last)


def rows(names: list[str] | None = None, data: tuple[str, ...] = DATASETS,
         pair: str | None = None) -> list[dict]:
    """The table as dicts (``pandas.DataFrame(rows())`` for a frame); Fashion-MNIST's rows
    for the image networks ``pair``."""
    from ganlib import losses

    return [asdict(s) for n in (names or losses.names()) for d in data
            for s in settings(n, d, pair)]


def markdown(names: list[str] | None = None, data: tuple[str, ...] = DATASETS,
             changed_only: bool = True, pair: str | None = None) -> str:
    """The table in Markdown; ``changed_only`` keeps the values that differ from the paper."""
    table = [r for r in rows(names, data, pair) if not changed_only or r["source"] != "paper"]
    lines = ["| loss | data | setting | value | paper | source | why |", "|---" * 7 + "|"]
    lines += [f"| {r['loss']} | {r['data']} | {r['key']} | {r['value']} | {r['paper']} | "
              f"{r['source']} | {r['reason']} |" for r in table]
    return "\n".join(lines)
