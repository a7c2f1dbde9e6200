r"""The non-saturating GAN (Goodfellow et al. 2014, section 3; NIPS 2016 tutorial).

The discriminator is trained exactly as in the minimax game; the generator instead
*maximises* :math:`\log D(G(z))`, which has the same fixed points but a strong gradient
when the discriminator rejects its samples.
Paper: https://arxiv.org/abs/1406.2661
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlib.losses import minimax
from ganlib.losses._common import check_scores, reduce

d_loss = minimax.d_loss


def g_loss(fake_logits: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Non-saturating generator loss.

    .. math::
        L_G = -\mathbb{E}_z[\log D(G(z))] = \mathbb{E}_z[\operatorname{softplus}(-\ell(G(z)))]

    It is *not* the negative of the discriminator loss: it drops the real-data term and
    flips which label the fake samples are scored against.

    Args:
        fake_logits: discriminator logits on generated data, in (-inf, inf).
        reduction: "mean", "sum" or "none".
    """
    check_scores(fake_logits)
    return reduce(F.softplus(-fake_logits), reduction)
