r"""Hinge loss (Lim and Ye 2017, *Geometric GAN*; used by SNGAN, Miyato et al. 2018).

.. math::
    L_D = \mathbb{E}_x[\max(0, 1 - D(x))] + \mathbb{E}_z[\max(0, 1 + D(G(z)))], \qquad
    L_G = -\mathbb{E}_z[D(G(z))]

The discriminator is a margin classifier on raw scores: samples already beyond the margin
(real scores above 1, generated below -1) contribute neither loss nor gradient.
Paper: https://arxiv.org/abs/1705.02894
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlib.losses._common import check_scores, reduce


def d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
           reduction: str = "mean") -> torch.Tensor:
    r"""Discriminator loss :math:`\mathbb{E}[\mathrm{relu}(1 - D(x))] +
    \mathbb{E}[\mathrm{relu}(1 + D(G(z)))]`.

    Args:
        real_scores, fake_scores: raw discriminator outputs in (-inf, inf), same shape.
        reduction: "mean", "sum" or "none" (per-sample pairs summed).
    """
    check_scores(real_scores, fake_scores)
    return reduce(F.relu(1 - real_scores), reduction) + reduce(F.relu(1 + fake_scores), reduction)


def g_loss(fake_scores: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Generator loss :math:`-\mathbb{E}_z[D(G(z))]`."""
    check_scores(fake_scores)
    return -reduce(fake_scores, reduction)
