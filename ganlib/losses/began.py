r"""Boundary equilibrium GAN (Berthelot, Schumm and Metz 2017).

The discriminator is an autoencoder; :math:`\mathcal L(v) = \lvert v - D(v) \rvert` is its
L1 reconstruction loss (per sample, averaged over pixels). With :math:`k_0 = 0`:

.. math::
    L_D = \mathcal L(x) - k_t\, \mathcal L(G(z_D)), \qquad
    L_G = \mathcal L(G(z_G)), \qquad
    k_{t+1} = \operatorname{clip}_{[0, 1]}\big(k_t + \lambda_k (\gamma \mathcal L(x)
        - \mathcal L(G(z_G)))\big)

:math:`k_t` is a proportional controller that keeps the equilibrium
:math:`\mathbb{E}[\mathcal L(G(z))] = \gamma\, \mathbb{E}[\mathcal L(x)]`; the diversity ratio
:math:`\gamma` trades diversity (high) for quality (low), 0.3 to 0.7 in the paper, and
:math:`\lambda_k = 0.001`. Training reports the convergence measure

.. math::
    \mathcal M_\text{global} = \mathcal L(x) + \lvert \gamma \mathcal L(x)
        - \mathcal L(G(z_G)) \rvert

(history keys ``k`` and ``m_global``). Build the networks with
``losses.make_models("began", kind)``. Paper: https://arxiv.org/abs/1703.10717
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ganlib.losses._common import check_scores, reduce
from ganlib.objective import Objective, check_number


def reconstruction_loss(x: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathcal L(v) = \lvert v - D(v) \rvert`, per sample, mean over every other axis."""
    if x.shape != reconstruction.shape:
        raise ValueError(f"the autoencoder must reconstruct its input's shape {tuple(x.shape)}, "
                         f"got {tuple(reconstruction.shape)}")
    return (x - reconstruction).abs().flatten(1).mean(1)


def d_loss(real_loss: torch.Tensor, fake_loss: torch.Tensor, k: float | torch.Tensor,
           reduction: str = "mean") -> torch.Tensor:
    r"""Discriminator loss :math:`\mathcal L(x) - k_t \mathcal L(G(z))`.

    Args:
        real_loss, fake_loss: per-sample reconstruction losses (>= 0), same shape.
        k: the current :math:`k_t` in [0, 1] (a constant for this step).
        reduction: "mean", "sum" or "none".
    """
    check_scores(real_loss, fake_loss)
    return reduce(real_loss, reduction) - k * reduce(fake_loss, reduction)


def g_loss(fake_loss: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Generator loss :math:`\mathcal L(G(z))`."""
    check_scores(fake_loss)
    return reduce(fake_loss, reduction)


def update_k(k: float | torch.Tensor, real_loss: torch.Tensor, fake_loss: torch.Tensor,
             gamma: float = 0.5, lambda_k: float = 0.001) -> torch.Tensor:
    r""":math:`k_{t+1} = \operatorname{clip}_{[0,1]}(k_t + \lambda_k(\gamma \mathcal L(x) -
    \mathcal L(G(z))))` from the batch means of the two losses."""
    balance = gamma * real_loss.detach().mean() - fake_loss.detach().mean()
    return (k + lambda_k * balance).clamp(0.0, 1.0)


def convergence(real_loss: torch.Tensor, fake_loss: torch.Tensor,
                gamma: float = 0.5) -> torch.Tensor:
    r""":math:`\mathcal M_\text{global} = \mathcal L(x) + \lvert \gamma \mathcal L(x) -
    \mathcal L(G(z)) \rvert` from the batch means."""
    real, fake = real_loss.detach().mean(), fake_loss.detach().mean()
    return real + (gamma * real - fake).abs()


@dataclass
class BEGANObjective(Objective):
    """BEGAN's steps and its controller state :math:`k_t` on an autoencoder discriminator."""

    gamma: float = 0.5
    lambda_k: float = 0.001
    k: torch.Tensor = field(default_factory=lambda: torch.zeros(()))

    def discriminator_step(self, D: nn.Module, real, fake, y=None):
        if self.k.device != real.device:  # once: from then on k is updated in place
            self.k = self.k.to(real.device)
        l_real = reconstruction_loss(real, D(real)[0])
        l_fake = reconstruction_loss(fake, D(fake)[0])
        loss = d_loss(l_real, l_fake, self.k)
        return loss, {"d_real": l_real.detach().mean(), "d_fake": l_fake.detach().mean()}

    def generator_step(self, D: nn.Module, real, fake, y=None, z=None):
        return g_loss(reconstruction_loss(fake, D(fake)[0])), {}

    def after_generator_step(self, d_loss: torch.Tensor, g_loss: torch.Tensor,
                             stats: dict) -> None:
        """Update :math:`k_t` from this step's :math:`\\mathcal L(x)` (``stats["d_real"]``) and
        :math:`\\mathcal L(G(z_G))` (the generator's loss); log ``k`` and ``m_global``."""
        l_real = stats["d_real"]
        stats["m_global"] = convergence(l_real, g_loss, self.gamma)
        # in place, so that a step replayed as a CUDA graph updates the same tensor
        self.k.copy_(update_k(self.k, l_real, g_loss, self.gamma, self.lambda_k))
        stats["k"] = self.k.clone()

    def state_dict(self) -> dict:
        return {"k": self.k.detach().cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.k = state["k"].to(self.k.device, self.k.dtype)


def objective(gamma: float = 0.5, lambda_k: float = 0.001, **opt) -> BEGANObjective:
    """BEGAN with diversity ratio ``gamma`` and controller gain ``lambda_k`` (k starts at 0)."""
    if not 0 < gamma <= 1:
        raise ValueError(f"BEGAN's gamma is a ratio of losses in (0, 1], got {gamma}")
    check_number("began", "lambda_k", lambda_k)
    return BEGANObjective("began", d_loss, g_loss, gamma=gamma, lambda_k=lambda_k,
                          params={"gamma": gamma, "lambda_k": lambda_k}, **opt)
