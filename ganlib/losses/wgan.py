r"""Wasserstein GAN (Arjovsky, Chintala and Bottou 2017).

By the Kantorovich-Rubinstein duality,
:math:`W_1(p_r, p_g) = \sup_{\lVert f \rVert_L \le 1} \mathbb{E}_{p_r}[f] - \mathbb{E}_{p_g}[f]`.
The critic :math:`D` estimates the supremum; the generator descends the estimate:

.. math::
    L_D = \mathbb{E}_z[D(G(z))] - \mathbb{E}_x[D(x)], \qquad L_G = -\mathbb{E}_z[D(G(z))]

The Lipschitz constraint is enforced by clipping every critic weight to :math:`[-c, c]` after
each update (``Objective.clip``). The paper's defaults (Algorithm 1): :math:`c = 0.01`,
RMSprop with learning rate :math:`5\cdot 10^{-5}`, :math:`n_\text{critic} = 5`.
Paper: https://arxiv.org/abs/1701.07875
"""

from __future__ import annotations

import torch

from ganlib.losses._common import check_scores, reduce


def d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
           reduction: str = "mean") -> torch.Tensor:
    r"""Critic loss :math:`\mathbb{E}_z[D(G(z))] - \mathbb{E}_x[D(x)]`, the negated estimate of
    :math:`W_1`.

    Args:
        real_scores, fake_scores: critic values in (-inf, inf), same shape (no sigmoid).
        reduction: "mean", "sum" or "none" (per-sample differences).
    """
    check_scores(real_scores, fake_scores)
    return reduce(fake_scores, reduction) - reduce(real_scores, reduction)


def g_loss(fake_scores: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Generator loss :math:`-\mathbb{E}_z[D(G(z))]`."""
    check_scores(fake_scores)
    return -reduce(fake_scores, reduction)
