r"""Energy-based GAN (Zhao, Mathieu and LeCun 2017).

The discriminator is an autoencoder whose reconstruction error is an energy: low on real
data, high on generated data. With :math:`D(x) = \mathrm{MSE}(x, \mathrm{Dec}(\mathrm{Enc}(x)))`
and margin :math:`m`,

.. math::
    L_D = \mathbb{E}_x[D(x)] + \mathbb{E}_z[\max(0, m - D(G(z)))], \qquad
    L_G = \mathbb{E}_z[D(G(z))] + \lambda_{PT} f_{PT}(S)

where the pull-away term (EBGAN-PT, section 2.4) on the encoder's codes
:math:`S = \mathrm{Enc}(G(z))` of a batch of :math:`N` generated samples,

.. math::
    f_{PT}(S) = \frac{1}{N(N-1)} \sum_i \sum_{j \ne i}
        \left(\frac{S_i^\top S_j}{\lVert S_i \rVert \lVert S_j \rVert}\right)^2,

pushes their codes apart (a mode-collapse deterrent); the paper weighs it by 0.1 and adds
it to the generator's loss only. The paper writes the energy as a norm; its experiments and
common implementations use the mean squared error, as here, so the margin's scale is that of
an MSE. Build the networks with ``losses.make_models("ebgan", kind)``.
Paper: https://arxiv.org/abs/1609.03126
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganlib.losses._common import check_scores, reduce
from ganlib.objective import Objective, check_number

# Keeps a code of norm zero from dividing by zero in the cosine similarities.
_COS_EPS = 1e-8


def energy(x: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared reconstruction error over every non-batch axis."""
    if x.shape != reconstruction.shape:
        raise ValueError(f"the autoencoder must reconstruct its input's shape {tuple(x.shape)}, "
                         f"got {tuple(reconstruction.shape)}")
    return (reconstruction - x).pow(2).flatten(1).mean(1)


def d_loss(real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float = 1.0,
           reduction: str = "mean") -> torch.Tensor:
    r"""Discriminator loss :math:`\mathbb{E}[D(x)] + \mathbb{E}[\max(0, m - D(G(z)))]`.

    Args:
        real_energy, fake_energy: per-sample energies (>= 0), same shape.
        margin: :math:`m`; generated samples with energy above it cost nothing.
        reduction: "mean", "sum" or "none".
    """
    check_scores(real_energy, fake_energy)
    return reduce(real_energy, reduction) + reduce(F.relu(margin - fake_energy), reduction)


def g_loss(fake_energy: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Generator loss :math:`\mathbb{E}_z[D(G(z))]` (without the pull-away term)."""
    check_scores(fake_energy)
    return reduce(fake_energy, reduction)


def pullaway(codes: torch.Tensor) -> torch.Tensor:
    r"""The pull-away term :math:`f_{PT}`: mean squared cosine similarity between the codes
    of distinct samples; 0 for orthogonal codes, 1 for parallel ones."""
    check_scores(codes)
    codes = codes.flatten(1)
    n = len(codes)
    if n < 2:
        raise ValueError("the pull-away term compares samples: it needs a batch of at least 2")
    unit = codes / (codes.norm(dim=1, keepdim=True) + _COS_EPS)
    cos2 = (unit @ unit.T).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


@dataclass
class EBGANObjective(Objective):
    """EBGAN's two steps on an autoencoder discriminator ``D(x) -> (reconstruction, code)``."""

    margin: float = 1.0
    pt_weight: float = 0.1

    def discriminator_step(self, D: nn.Module, real, fake, y=None):
        e_real, e_fake = energy(real, D(real)[0]), energy(fake, D(fake)[0])
        loss = d_loss(e_real, e_fake, self.margin)
        return loss, {"d_real": e_real.detach().mean(), "d_fake": e_fake.detach().mean()}

    def generator_step(self, D: nn.Module, real, fake, y=None, z=None):
        reconstruction, code = D(fake)
        loss = g_loss(energy(fake, reconstruction))
        if self.pt_weight:
            pt = pullaway(code)
            return loss + self.pt_weight * pt, {"pullaway": pt.detach()}
        return loss, {}


def objective(margin: float = 1.0, pt_weight: float = 0.1, **opt) -> EBGANObjective:
    """EBGAN-PT with margin ``margin`` and pull-away weight ``pt_weight`` (0 turns it off)."""
    check_number("ebgan", "margin", margin, positive=True)
    check_number("ebgan", "pt_weight", pt_weight)
    return EBGANObjective("ebgan", d_loss, g_loss, margin=margin, pt_weight=pt_weight,
                          params={"margin": margin, "pt_weight": pt_weight}, **opt)
