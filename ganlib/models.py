"""Networks shared by every chapter, so that differences between runs come from the loss.

* ``MLPGenerator`` / ``MLPDiscriminator``: the 2-D pair (3 hidden layers of 128).
* ``ConvGenerator`` / ``ConvDiscriminator``: the 28x28 pair from the InfoGAN paper
  (Chen et al. 2016, appendix C.1) as used by the generative-model collections.

Discriminators return raw scores (logits or critic values), never probabilities:
every loss in ``ganlib.losses`` works on logits in a numerically stable form.
Both pairs accept class labels (``n_classes > 0``) for conditional GANs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _one_hot(y: torch.Tensor | None, n_classes: int, batch: int) -> torch.Tensor | None:
    if n_classes == 0:
        return None
    if y is None:
        raise ValueError(f"this network is conditional ({n_classes} classes): pass labels y")
    if y.shape != (batch,):
        raise ValueError(f"labels must have shape ({batch},), got {tuple(y.shape)}")
    return F.one_hot(y, n_classes).float()


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int = 2, hidden: int = 128, layers: int = 3, out_dim: int = 2,
                 n_classes: int = 0, activation: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        dims = [z_dim + n_classes] + [hidden] * layers
        body = [m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), activation())]
        self.net = nn.Sequential(*body, nn.Linear(hidden, out_dim))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, len(z))
        return self.net(z if c is None else torch.cat([z, c], 1))


class MLPDiscriminator(nn.Module):
    """``features`` maps x to the last hidden layer; ``head`` maps that to ``out_dim`` scores."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, layers: int = 3, out_dim: int = 1,
                 n_classes: int = 0, activation: type[nn.Module] = nn.LeakyReLU):
        super().__init__()
        self.n_classes, self.out_dim = n_classes, out_dim
        dims = [in_dim + n_classes] + [hidden] * layers
        act = (lambda: activation(0.2)) if activation is nn.LeakyReLU else activation
        self.features = nn.Sequential(
            *[m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), act())])
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, len(x))
        out = self.head(self.features(x if c is None else torch.cat([x, c], 1)))
        return out.squeeze(1) if self.out_dim == 1 else out


class ConvGenerator(nn.Module):
    """FC1024-BN-ReLU, FC 128x7x7-BN-ReLU, deconv 64 4x4/2-BN-ReLU, deconv 1 4x4/2-tanh."""

    def __init__(self, z_dim: int = 62, n_classes: int = 0, channels: int = 1):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.fc = nn.Sequential(
            nn.Linear(z_dim + n_classes, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, len(z))
        h = self.fc(z if c is None else torch.cat([z, c], 1))
        return self.deconv(h.view(-1, 128, 7, 7))


class ConvDiscriminator(nn.Module):
    """conv 64 4x4/2-LReLU, conv 128 4x4/2-BN-LReLU, FC1024-BN-LReLU, FC ``out_dim``.

    ``batchnorm=False`` removes both BatchNorm layers; the WGAN-GP paper asks for that
    (the gradient penalty is per sample, and BatchNorm makes each output depend on the
    whole batch). Conditional inputs get the one-hot label as extra constant channels.
    """

    def __init__(self, out_dim: int = 1, n_classes: int = 0, channels: int = 1,
                 batchnorm: bool = True):
        super().__init__()
        self.n_classes, self.out_dim = n_classes, out_dim
        norm2d = nn.BatchNorm2d(128) if batchnorm else nn.Identity()
        norm1d = nn.BatchNorm1d(1024) if batchnorm else nn.Identity()
        self.features = nn.Sequential(
            nn.Conv2d(channels + n_classes, 64, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1), norm2d, nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1024), norm1d, nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(1024, out_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, len(x))
        if c is not None:
            x = torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        out = self.head(self.features(x))
        return out.squeeze(1) if self.out_dim == 1 else out


def has_batchnorm(module: nn.Module) -> bool:
    """True when any submodule normalises over the batch."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) weights and zero biases (DCGAN's initialisation, used by the collections)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def pair(kind: str, *, z_dim: int | None = None, n_classes: int = 0, d_out: int = 1,
         batchnorm: bool = True) -> tuple[nn.Module, nn.Module]:
    """The standard (G, D) pair for ``kind`` = ``"2d"`` or ``"image"``, freshly initialised."""
    if kind == "2d":
        return (MLPGenerator(z_dim or 2, n_classes=n_classes),
                MLPDiscriminator(out_dim=d_out, n_classes=n_classes))
    if kind == "image":
        G = ConvGenerator(z_dim or 62, n_classes=n_classes)
        D = ConvDiscriminator(d_out, n_classes=n_classes, batchnorm=batchnorm)
        init_weights(G)
        init_weights(D)
        return G, D
    raise ValueError(f"unknown model kind {kind!r}: use '2d' or 'image'")
