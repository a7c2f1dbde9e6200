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

Learning rates, then the discriminator updates per generator step, are set per loss from
searches with the same budget for every loss (:mod:`ganlib.search`, run on the grids in
``notebooks/results/search``); until a loss has one, the value says where it comes from.
``objective(name, data)`` builds a loss with the settings for ``data``;
``objective(name, data, paper=True)`` with its paper's values. ``rows()`` and ``markdown()``
give the table with every value's source beside the paper's value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ganlib.objective import Objective
from ganlib.search import (  # noqa: F401 (the searches' rule and results: settings' too)
    LR_D_X_PENDING,
    N_CRITIC_PENDING,
    SEARCHED_LR,
    SEARCHED_LR_D_X,
    SEARCHED_N_CRITIC,
    choose_lr,
    choose_lr_d_x,
    choose_n_critic,
    search_score,
)

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
    out = {"optimizer": obj.optimizer, "lr": obj.lr, "n_critic": obj.n_critic,
           "lr_d_x": obj.lr_d_x}
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
    searches = {"lr": (SEARCHED_LR, "learning-rate search, the same for every loss (1, 5 and "
                               "15 times the paper's rate"),
                "n_critic": (SEARCHED_N_CRITIC, "n_critic search at the searched rate, the same "
                                                "for every loss (two values besides the loss's "
                                                "own"),
                "lr_d_x": (SEARCHED_LR_D_X, "two time-scale search at the searched rate and "
                                            "n_critic, the same for every loss (D's rate 2 and "
                                            "4 times G's besides equal rates")}
    for key, (chosen, what) in searches.items():
        if name in chosen:
            value, means = chosen[name]
            scores = ", ".join(f"{v:.2f} at {k:g}" for k, v in means.items())
            by_key[key] = Setting(name, data, key, value, paper[key], "search",
                                  f"{what}, 2 seeds, both mixtures, 6,000 steps): mean score "
                                  f"{scores}")
    # the DCGAN setting, which the pilot measured, until a search sets it
    if name not in SEARCHED_LR and paper["lr"] == 2e-4:
        by_key["lr"] = Setting(name, data, "lr", 1e-3, paper["lr"], "pilot",
                               "non-saturating, ring8, one seed: 3/8 modes at 2e-4 after "
                               "8,000 steps, 8/8 at 1e-3 from step 4,000; used for every "
                               "loss on Adam 2e-4 until the search sets it")
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
