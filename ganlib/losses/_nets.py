"""Networks some losses need beyond :mod:`ganlib.models`: autoencoder discriminators
(EBGAN, BEGAN) and InfoGAN's Q head. Each mirrors the shared pairs so that only the
loss differs between chapters.

An autoencoder discriminator returns ``(reconstruction, code)``; EBGAN and BEGAN turn the
reconstruction error into the discriminator's output (an energy).
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib import models
from ganlib.convs import Flatten, FoldConvTranspose2d


class MLPAutoencoder(nn.Module):
    """2-D autoencoder: an encoder like the MLP discriminator's body (LeakyReLU layers of
    ``hidden`` units, two where the discriminator has three) to a ``code_dim`` code, and its
    mirror as decoder.

    The code is one number, fewer than the input's two: the autoencoder can fit a curve
    through the data but cannot reconstruct every point of the plane, so generated samples
    off that curve reconstruct worse than data. (With a code as wide as the input or wider
    it learns the identity, reconstructs everything equally well, and BEGAN's controller
    k_t never leaves 0.)
    """

    def __init__(self, in_dim: int = 2, hidden: int = 128, code_dim: int = 1):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2), nn.Linear(hidden, code_dim))
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2), nn.Linear(hidden, in_dim))

    def forward(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encoder(x)
        return self.decoder(code), code


class ConvAutoencoder(nn.Module):
    """28x28 autoencoder: the conv discriminator's first layers as encoder (to a ``code_dim``
    embedding), the conv generator's last layers as decoder; no BatchNorm. ``width`` is the
    widest layer's channels (128 for the InfoGAN pair, 64 for the small pair)."""

    def __init__(self, channels: int = 1, code_dim: int = 32, width: int = 128):
        super().__init__()
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, w // 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w // 2, w, 4, 2, 1), nn.LeakyReLU(0.2),
            Flatten(), nn.Linear(w * 7 * 7, code_dim))
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, w * 7 * 7), nn.ReLU(), nn.Unflatten(1, (w, 7, 7)),
            nn.ConvTranspose2d(w, w // 2, 4, 2, 1), nn.ReLU(),
            FoldConvTranspose2d(w // 2, channels, 4, 2, 1), nn.Tanh())

    def forward(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encoder(x)
        return self.decoder(code), code


def autoencoder(kind: str) -> nn.Module:
    """The autoencoder discriminator for ``kind`` = "2d", "image" or "image-small", freshly
    initialised."""
    models.data_kind(kind)
    if kind == "2d":
        return MLPAutoencoder()
    D = ConvAutoencoder(width=128 if kind == "image" else 64)
    models.init_weights(D)
    return D


def q_head(in_dim: int, out_dim: int, hidden: int = 128) -> nn.Module:
    """InfoGAN's Q head on the discriminator's features: FC ``hidden``, LeakyReLU, FC out
    (the paper's FC 128-BN-LReLU head without the BatchNorm). Outputs raw parameters:
    class logits and Gaussian means, never a softmax."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out_dim))
