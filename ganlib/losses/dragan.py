r"""DRAGAN (Kodali et al. 2017): the standard GAN with a gradient penalty around real data.

The losses are the non-saturating GAN's (:mod:`ganlib.losses.nonsaturating`); the
discriminator also pays :func:`ganlib.penalties.dragan`,

.. math::
    \lambda\, \mathbb{E}_{x \sim p_r,\ \delta}\big[(\lVert \nabla D(x + \delta) \rVert_2
        - k)^2\big], \qquad \lambda = 10,\ k = 1,

which keeps the discriminator's gradients bounded in a neighbourhood of the data, where the
paper traces mode collapse to sharp discriminator gradients. Two perturbations exist:

* ``"gaussian"`` (the paper): :math:`\delta \sim \mathcal N(0, cI)`, :math:`c \approx 10` in
  the paper, to be tuned to the data's range;
* ``"uniform"`` (the authors' original code, which most implementations copy): a one-sided
  uniform offset :math:`\alpha \cdot 0.5\,\mathrm{std}(x)\,U[0, 1)^d`, scaled by the batch.

The penalty is *added* to the adversarial loss: the discriminator is trained by both.
Paper: https://arxiv.org/abs/1705.07215
"""

from __future__ import annotations

from functools import partial

from ganlib import penalties
from ganlib.losses import nonsaturating
from ganlib.losses._common import fake_only
from ganlib.objective import Objective, check_number

d_loss = nonsaturating.d_loss
g_loss = nonsaturating.g_loss


def objective(lam: float = 10.0, k: float = 1.0, perturbation: str = "gaussian",
              c: float = 10.0, **opt) -> Objective:
    """DRAGAN with the paper's penalty; ``perturbation="uniform"`` for the original code's."""
    if perturbation not in ("gaussian", "uniform"):
        raise ValueError(f"unknown DRAGAN perturbation {perturbation!r}: use 'gaussian' (the "
                         "paper) or 'uniform' (the original code)")
    check_number("dragan", "lam", lam)
    check_number("dragan", "k", k)
    check_number("dragan", "c", c, positive=True)
    return Objective("dragan", d_loss, partial(fake_only, g_loss),
                     penalty=partial(penalties.dragan, weight=lam, k=k,
                                     perturbation=perturbation, c=c),
                     params={"lambda": lam, "k": k, "perturbation": perturbation, "c": c}, **opt)
