r"""Auxiliary-classifier GAN (Odena, Olah and Shlens 2017).

The generator is conditioned on a class :math:`c`; the discriminator is *not*, and instead
outputs a source logit :math:`s` (real or generated) and class logits :math:`\ell` (one
network, ``out_dim = 1 + n_classes``, split by :func:`split`). With the paper's log
likelihoods

.. math::
    L_S = \mathbb{E}[\log P(S = \text{real} \mid X_\text{real})]
        + \mathbb{E}[\log P(S = \text{fake} \mid X_\text{fake})], \qquad
    L_C = \mathbb{E}[\log P(C = c \mid X_\text{real})]
        + \mathbb{E}[\log P(C = c \mid X_\text{fake})],

D maximises :math:`L_S + L_C` and G maximises :math:`L_C - L_S`. As losses to minimise,
written with softplus and cross-entropy on logits:

.. math::
    L_D = -L_S - L_C, \qquad L_G = \mathbb{E}[\operatorname{softplus}(-s(G(z, c)))]
        + \mathrm{CE}(\ell(G(z, c)), c)

:math:`L_G` uses the non-saturating form of the :math:`-L_S` term, as every implementation
does; ``saturating=True`` gives the paper's literal :math:`-(L_C - L_S)`. Networks:
``losses.make_models("acgan", kind)``; train with ``train.fit(..., conditional=True)``.
Paper: https://arxiv.org/abs/1610.09585
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganlib.losses._common import check_class_logits, check_scores, reduce
from ganlib.objective import Objective


def split(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Discriminator output (n, 1 + K) -> source logits (n,) and class logits (n, K)."""
    if out.dim() != 2 or out.shape[1] < 3:
        raise ValueError(f"an ACGAN discriminator outputs (batch, 1 + n_classes) with at least "
                         f"2 classes, got {tuple(out.shape)}: build it with "
                         "losses.make_models('acgan', kind)")
    return out[:, 0], out[:, 1:]


def d_loss(real_source: torch.Tensor, fake_source: torch.Tensor, real_class: torch.Tensor,
           fake_class: torch.Tensor, real_labels: torch.Tensor, fake_labels: torch.Tensor,
           reduction: str = "mean") -> torch.Tensor:
    r"""Discriminator loss :math:`-L_S - L_C`.

    Args:
        real_source, fake_source: source logits (n,) in (-inf, inf).
        real_class, fake_class: class logits (n, K), before any softmax.
        real_labels, fake_labels: class indices (n,) in 0..K-1.
        reduction: "mean", "sum" or "none" (per-sample sums of the four terms).
    """
    check_scores(real_source, fake_source)
    check_class_logits(real_class, real_labels)
    check_class_logits(fake_class, fake_labels)
    source = reduce(F.softplus(-real_source), reduction) + reduce(F.softplus(fake_source),
                                                                   reduction)
    cls = (reduce(F.cross_entropy(real_class, real_labels, reduction="none"), reduction)
           + reduce(F.cross_entropy(fake_class, fake_labels, reduction="none"), reduction))
    return source + cls


def g_loss(fake_source: torch.Tensor, fake_class: torch.Tensor, labels: torch.Tensor,
           saturating: bool = False, reduction: str = "mean") -> torch.Tensor:
    r"""Generator loss: :math:`\mathrm{CE}(\ell(G(z, c)), c)` plus
    :math:`\operatorname{softplus}(-s)` (non-saturating) or :math:`-\operatorname{softplus}(s)`
    (``saturating``, the paper's literal :math:`\mathbb{E}\log P(S=\text{fake}\mid
    X_\text{fake})`)."""
    check_scores(fake_source)
    check_class_logits(fake_class, labels)
    source = -F.softplus(fake_source) if saturating else F.softplus(-fake_source)
    return (reduce(source, reduction)
            + reduce(F.cross_entropy(fake_class, labels, reduction="none"), reduction))


@dataclass
class ACGANObjective(Objective):
    """ACGAN's steps: the unconditional D scores source and class; G gets the labels."""

    saturating: bool = False

    def discriminator_step(self, D: nn.Module, real, fake, y=None):
        self.require_labels(y)
        (s_real, c_real), (s_fake, c_fake) = split(D(real)), split(D(fake))
        # fit draws the generated batch with the real batch's labels
        loss = d_loss(s_real, s_fake, c_real, c_fake, y, y)
        return loss, {"d_real": s_real.detach().mean(), "d_fake": s_fake.detach().mean()}

    def generator_step(self, D: nn.Module, real, fake, y=None, z=None):
        self.require_labels(y)
        s_fake, c_fake = split(D(fake))
        return g_loss(s_fake, c_fake, y, self.saturating), {}


def objective(saturating: bool = False, **opt) -> ACGANObjective:
    """ACGAN; ``saturating=True`` for the paper's literal generator objective."""
    return ACGANObjective("acgan", d_loss, g_loss, conditional=True, saturating=saturating,
                          params={"saturating": saturating}, **opt)
