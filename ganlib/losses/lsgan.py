r"""Least-squares GAN (Mao et al. 2017): squared distances to target codes instead of log-loss.

.. math::
    \min_D \tfrac12 \mathbb{E}_{x}[(D(x) - b)^2] + \tfrac12 \mathbb{E}_{z}[(D(G(z)) - a)^2],
    \qquad \min_G \tfrac12 \mathbb{E}_{z}[(D(G(z)) - c)^2]

:math:`a` is the target for generated data, :math:`b` for real data and :math:`c` the value
the generator wants the discriminator to give its samples. With :math:`b - c = 1` and
:math:`b - a = 2` (for instance :math:`a, b, c = -1, 1, 0`) the generator minimises
:math:`\tfrac12\chi^2_{\mathrm{Pearson}}(p_r + p_g \,\|\, 2 p_g) = \tfrac12 \int
(2p_g - (p_r + p_g))^2 / (p_r + p_g)` at the optimal discriminator (the paper's section 3.2.2;
note which argument is in the denominator); the 0-1-1 coding :math:`a, b, c = 0, 1, 1`
is the one used in practice. D outputs raw scores: no sigmoid.
Paper: https://arxiv.org/abs/1611.04076
"""

from __future__ import annotations

import torch

from ganlib.losses._common import check_scores, reduce

CODINGS = {"pearson": (-1.0, 1.0, 0.0), "0-1-1": (0.0, 1.0, 1.0)}


def coding(name: str | tuple[float, float, float]) -> tuple[float, float, float]:
    """The targets ``(a, b, c)`` of a named coding, or a tuple passed through."""
    if isinstance(name, str):
        if name not in CODINGS:
            raise ValueError(f"unknown LSGAN coding {name!r}: use one of {sorted(CODINGS)} "
                             "or a tuple (a, b, c)")
        return CODINGS[name]
    a, b, c = (float(v) for v in name)
    return a, b, c


def d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, a: float = 0.0,
           b: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Discriminator loss :math:`\tfrac12 \mathbb{E}[(D(x) - b)^2] + \tfrac12
    \mathbb{E}[(D(G(z)) - a)^2]`.

    Args:
        real_scores, fake_scores: raw discriminator outputs in (-inf, inf), same shape.
        a, b: targets for generated and real data (0-1-1 coding by default).
        reduction: "mean", "sum" or "none" (per-sample pairs summed).
    """
    check_scores(real_scores, fake_scores)
    return (0.5 * reduce((real_scores - b).pow(2), reduction)
            + 0.5 * reduce((fake_scores - a).pow(2), reduction))


def g_loss(fake_scores: torch.Tensor, c: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Generator loss :math:`\tfrac12 \mathbb{E}_z[(D(G(z)) - c)^2]`."""
    check_scores(fake_scores)
    return 0.5 * reduce((fake_scores - c).pow(2), reduction)
