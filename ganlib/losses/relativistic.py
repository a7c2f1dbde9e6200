r"""Relativistic average GANs (Jolicoeur-Martineau 2018): RaSGAN and RaLSGAN.

The discriminator judges whether real data is *more realistic than the average generated
sample* and the other way round. With raw scores :math:`C` and batch means
:math:`\bar C_r = \mathbb{E}_{x_r}[C(x_r)]`, :math:`\bar C_f = \mathbb{E}_{x_f}[C(x_f)]`:

.. math::
    \text{standard (RaSGAN): } & L_D = \mathbb{E}_{x_r}[\operatorname{softplus}(-(C(x_r) -
        \bar C_f))] + \mathbb{E}_{x_f}[\operatorname{softplus}(C(x_f) - \bar C_r)] \\
    & L_G = \mathbb{E}_{x_f}[\operatorname{softplus}(-(C(x_f) - \bar C_r))]
        + \mathbb{E}_{x_r}[\operatorname{softplus}(C(x_r) - \bar C_f)] \\
    \text{least squares (RaLSGAN): } & L_D = \mathbb{E}_{x_r}[(C(x_r) - \bar C_f - 1)^2]
        + \mathbb{E}_{x_f}[(C(x_f) - \bar C_r + 1)^2] \\
    & L_G = \mathbb{E}_{x_f}[(C(x_f) - \bar C_r - 1)^2] + \mathbb{E}_{x_r}[(C(x_r) - \bar C_f
        + 1)^2]

(:math:`\operatorname{softplus}(-t) = -\log\sigma(t)`). Unlike the other losses, the
generator's loss needs the scores of real data. Paper: https://arxiv.org/abs/1807.00734
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlib.losses._common import check_scores, reduce

FORMS = ("standard", "ls")


def _pair(first: torch.Tensor, second: torch.Tensor, form: str, reduction: str) -> torch.Tensor:
    """``first`` judged more realistic than the average of ``second``, and the reverse."""
    d_first = first - second.mean()  # should be high
    d_second = second - first.mean()  # should be low
    if form == "standard":
        return reduce(F.softplus(-d_first), reduction) + reduce(F.softplus(d_second), reduction)
    if form == "ls":
        return reduce((d_first - 1).pow(2), reduction) + reduce((d_second + 1).pow(2), reduction)
    raise ValueError(f"unknown relativistic form {form!r}: use one of {FORMS}")


def d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, form: str = "standard",
           reduction: str = "mean") -> torch.Tensor:
    """Discriminator loss: real above the average fake, fake below the average real.

    Args:
        real_scores, fake_scores: raw scores in (-inf, inf), same shape.
        form: "standard" (RaSGAN) or "ls" (RaLSGAN).
        reduction: "mean", "sum" or "none" (per-sample pairs summed; the averages are
            always over the batch).
    """
    check_scores(real_scores, fake_scores)
    return _pair(real_scores, fake_scores, form, reduction)


def g_loss(fake_scores: torch.Tensor, real_scores: torch.Tensor, form: str = "standard",
           reduction: str = "mean") -> torch.Tensor:
    """Generator loss: the discriminator's loss with the roles of real and fake swapped."""
    check_scores(fake_scores, real_scores)
    return _pair(fake_scores, real_scores, form, reduction)
