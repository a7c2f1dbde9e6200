r"""The original GAN objective (Goodfellow et al. 2014), generator minimising it as written.

.. math::
    \min_G \max_D V(D, G) = \mathbb{E}_{x\sim p_r}[\log D(x)]
        + \mathbb{E}_{z\sim p_z}[\log(1 - D(G(z)))]

With :math:`D = \sigma(\ell)` for a logit :math:`\ell`, :math:`-\log\sigma(\ell) =
\operatorname{softplus}(-\ell)` and :math:`-\log(1-\sigma(\ell)) = \operatorname{softplus}(\ell)`;
both are computed that way, never as ``log(sigmoid(.))``, which underflows to ``-inf``.
Paper: https://arxiv.org/abs/1406.2661
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlib.losses._common import check_scores, reduce


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
           reduction: str = "mean") -> torch.Tensor:
    r"""Discriminator loss :math:`-V`: binary cross-entropy with real = 1, fake = 0.

    .. math::
        L_D = \mathbb{E}_x[\operatorname{softplus}(-\ell(x))]
            + \mathbb{E}_z[\operatorname{softplus}(\ell(G(z)))]

    Args:
        real_logits: discriminator logits on real data, in (-inf, inf).
        fake_logits: logits on generated data, same shape.
        reduction: "mean" (per half-batch, then summed), "sum" or "none" (per-sample pairs summed).
    """
    check_scores(real_logits, fake_logits)
    return reduce(F.softplus(-real_logits), reduction) + reduce(F.softplus(fake_logits), reduction)


def g_loss(fake_logits: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Minimax generator loss: the generator *minimises* :math:`V`'s second term.

    .. math::
        L_G = \mathbb{E}_z[\log(1 - D(G(z)))] = -\mathbb{E}_z[\operatorname{softplus}(\ell(G(z)))]

    Its gradient vanishes when the discriminator confidently rejects the samples
    (:math:`D(G(z)) \to 0`), which is why the non-saturating loss exists.

    Args:
        fake_logits: discriminator logits on generated data, in (-inf, inf).
        reduction: "mean", "sum" or "none".
    """
    check_scores(fake_logits)
    return reduce(-F.softplus(fake_logits), reduction)
