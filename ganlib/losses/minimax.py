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
           reduction: str = "mean", real_label: float = 1.0) -> torch.Tensor:
    r"""Discriminator loss :math:`-V`: binary cross-entropy with real = 1, fake = 0.

    .. math::
        L_D = \mathbb{E}_x[\operatorname{softplus}(-\ell(x))]
            + \mathbb{E}_z[\operatorname{softplus}(\ell(G(z)))]

    With ``real_label`` :math:`\alpha < 1` (one-sided label smoothing, Salimans et al. 2016,
    section 3.4) the real term is the cross-entropy against the target :math:`\alpha`,
    :math:`\alpha\operatorname{softplus}(-\ell) + (1 - \alpha)\operatorname{softplus}(\ell)`,
    and the optimal discriminator becomes :math:`\alpha\, p_r / (p_r + p_g)`. The fake
    target stays 0.

    Args:
        real_logits: discriminator logits on real data, in (-inf, inf).
        fake_logits: logits on generated data, same shape.
        reduction: "mean" (per half-batch, then summed), "sum" or "none" (per-sample pairs summed).
        real_label: the target for real data, in (0, 1]; 1 is the unsmoothed loss.
    """
    check_scores(real_logits, fake_logits)
    if real_label == 1.0:
        real_term = F.softplus(-real_logits)
    else:
        check_real_label(real_label)
        real_term = real_label * F.softplus(-real_logits) \
            + (1 - real_label) * F.softplus(real_logits)
    return reduce(real_term, reduction) + reduce(F.softplus(fake_logits), reduction)


def check_real_label(real_label: float) -> None:
    """One-sided label smoothing needs a real target in (0, 1]."""
    if not isinstance(real_label, (int, float)) or not 0 < real_label <= 1:
        raise ValueError(f"real_label must be a number in (0, 1] (0.9 is the usual one-sided "
                         f"smoothing; 1 turns it off), got {real_label!r}")


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
