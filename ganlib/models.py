"""Networks shared by every chapter, so that differences between runs come from the loss.

* ``MLPGenerator`` / ``MLPDiscriminator``: the 2-D pair (3 hidden layers of 128).
* ``ConvGenerator`` / ``ConvDiscriminator``: the 28x28 pair from the InfoGAN paper
  (Chen et al. 2016, appendix C.1) as used by the generative-model collections.

Discriminators return raw scores (logits or critic values), never probabilities:
every loss in ``ganlib.losses`` works on logits in a numerically stable form.
Both pairs accept class labels (``n_classes > 0``) for conditional GANs.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from ganlib.convs import Flatten, FoldConvTranspose2d, LabelConv2d, LeakyReLU


def _labels(y: torch.Tensor | None, n_classes: int, batch: int) -> torch.Tensor | None:
    """``y``, checked: None for an unconditional network, else one class index per sample."""
    if n_classes == 0:
        return None
    if y is None:
        raise ValueError(f"this network is conditional ({n_classes} classes): pass labels y")
    if y.shape != (batch,):
        raise ValueError(f"labels must have shape ({batch},), got {tuple(y.shape)}")
    return y


def _one_hot(y: torch.Tensor | None, n_classes: int, batch: int) -> torch.Tensor | None:
    y = _labels(y, n_classes, batch)
    return None if y is None else F.one_hot(y, n_classes).float()


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
                 n_classes: int = 0, activation: type[nn.Module] = LeakyReLU):
        super().__init__()
        self.n_classes, self.out_dim = n_classes, out_dim
        dims = [in_dim + n_classes] + [hidden] * layers
        leaky = activation in (nn.LeakyReLU, LeakyReLU)
        act = (lambda: activation(0.2)) if leaky else activation
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
            FoldConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),
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
            LabelConv2d(channels + n_classes, 64, 4, 2, 1), LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1), norm2d, LeakyReLU(0.2),
            Flatten(), nn.Linear(128 * 7 * 7, 1024), norm1d, LeakyReLU(0.2),
        )
        self.head = nn.Linear(1024, out_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = _labels(y, self.n_classes, len(x))
        if y is None:
            h = self.features(x)
        else:  # the first convolution takes the labels as one-hot channels (LabelConv2d)
            h = self.features[0](x, y)
            for layer in itertools.islice(self.features, 1, None):
                h = layer(h)
        out = self.head(h)
        return out.squeeze(1) if self.out_dim == 1 else out


class SmallConvGenerator(nn.Module):
    """A small DCGAN generator for CPUs: FC 64x7x7-BN-ReLU, deconv 32 4x4/2-BN-ReLU,
    deconv 1 4x4/2-tanh (about 0.24M parameters against the InfoGAN generator's 6.6M)."""

    def __init__(self, z_dim: int = 64, n_classes: int = 0, channels: int = 1,
                 width: int = 64):
        super().__init__()
        self.z_dim, self.n_classes, self.width = z_dim, n_classes, width
        self.fc = nn.Sequential(nn.Linear(z_dim + n_classes, width * 7 * 7),
                                nn.BatchNorm1d(width * 7 * 7), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2),
            nn.ReLU(), FoldConvTranspose2d(width // 2, channels, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, len(z))
        h = self.fc(z if c is None else torch.cat([z, c], 1))
        return self.deconv(h.view(-1, self.width, 7, 7))


class SmallConvDiscriminator(nn.Module):
    """conv 32 4x4/2-LReLU, conv 64 4x4/2-BN-LReLU, FC ``out_dim`` (the small pair's D;
    ``batchnorm=False`` for the per-sample penalties, as :class:`ConvDiscriminator`)."""

    def __init__(self, out_dim: int = 1, n_classes: int = 0, channels: int = 1,
                 batchnorm: bool = True, width: int = 64):
        super().__init__()
        self.n_classes, self.out_dim = n_classes, out_dim
        self.features = nn.Sequential(
            LabelConv2d(channels + n_classes, width // 2, 4, 2, 1), LeakyReLU(0.2),
            nn.Conv2d(width // 2, width, 4, 2, 1),
            nn.BatchNorm2d(width) if batchnorm else nn.Identity(), LeakyReLU(0.2),
            Flatten())
        self.head = nn.Linear(width * 7 * 7, out_dim)

    forward = ConvDiscriminator.forward


def has_batchnorm(module: nn.Module) -> bool:
    """True when any submodule normalises over the batch."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


# Layers whose output row i depends on input row i alone and whose forward pass changes no
# state; exact types, so a parametrized (spectral-norm) Linear, whose power iteration runs
# once per forward pass, is not one of them.
_PER_SAMPLE = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, LabelConv2d, FoldConvTranspose2d,
               nn.LeakyReLU, LeakyReLU, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Flatten,
               Flatten, nn.Unflatten, nn.Sequential)


def per_sample(module: nn.Module) -> bool:
    """True when ``module`` maps each sample on its own, statelessly: then one pass over two
    batches stacked gives what two passes give (no BatchNorm, minibatch std, spectral norm
    or hooks), and a training step may score real and generated data in one pass."""
    for m in module.modules():
        if type(m) not in _PER_SAMPLE and type(m) not in (MLPDiscriminator, ConvDiscriminator):
            return False
        if m._forward_hooks or m._forward_pre_hooks:
            return False
    return True


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) weights and zero biases (DCGAN's initialisation, used by the collections)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


# model kinds and the data each is for: the 2-D MLPs, the InfoGAN paper's 28x28 pair, and the
# small DCGAN pair that trains on a CPU in minutes
KINDS = {"2d": "2d", "image": "image", "image-small": "image"}


def data_kind(kind: str) -> str:
    """"2d" or "image": the data a model kind is for (a ValueError for an unknown kind)."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
    return KINDS[kind]


def pair(kind: str, *, z_dim: int | None = None, n_classes: int = 0, d_out: int = 1,
         batchnorm: bool = True, activation: type[nn.Module] | None = None,
         g_output: type[nn.Module] | None = None) -> tuple[nn.Module, nn.Module]:
    """The standard (G, D) pair for ``kind`` = ``"2d"``, ``"image"`` (the InfoGAN paper's
    pair) or ``"image-small"`` (the small DCGAN pair for CPUs), freshly initialised.

    For ``"2d"`` only: ``activation`` replaces the hidden activation of both networks
    (ReLU in G and LeakyReLU(0.2) in D by default), and ``g_output`` is appended after G's
    last layer (none by default: the plane has no box)."""
    if z_dim is not None and z_dim < 1:
        raise ValueError(f"z_dim must be a positive integer, got {z_dim}")
    if kind == "2d":
        act = {} if activation is None else {"activation": activation}
        G = MLPGenerator(2 if z_dim is None else z_dim, n_classes=n_classes, **act)
        if g_output is not None:
            G.net.append(g_output())
        return G, MLPDiscriminator(out_dim=d_out, n_classes=n_classes, **act)
    if activation is not None or g_output is not None:
        raise ValueError("activation and g_output apply to the 2-D pair only")
    convs = {"image": (ConvGenerator, ConvDiscriminator, 62),
             "image-small": (SmallConvGenerator, SmallConvDiscriminator, 64)}
    if kind not in convs:
        raise ValueError(f"unknown model kind {kind!r}: use '2d', 'image' or 'image-small'")
    g_cls, d_cls, z_default = convs[kind]
    G = g_cls(z_default if z_dim is None else z_dim, n_classes=n_classes)
    D = d_cls(d_out, n_classes=n_classes, batchnorm=batchnorm)
    init_weights(G)
    init_weights(D)
    return G, D


def spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every Linear and Conv2d layer of
    ``module``, in place: each weight is divided by an estimate of its largest singular
    value, refined by ``n_power_iterations`` of power iteration per training forward pass
    (``torch.nn.utils.parametrizations.spectral_norm``). Returns ``module``."""
    layers = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("spectral_norm found no Linear or Conv2d layer to normalise")
    for m in layers:
        nn.utils.parametrizations.spectral_norm(m, n_power_iterations=n_power_iterations)
    return module


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, section 3): split the batch into
    groups of ``group_size`` samples, take each feature's standard deviation over a group,
    average it over features, and append that one number to every sample of the group as an
    extra feature (a column for (n, f) inputs, a constant channel for (n, c, h, w)). A
    discriminator can then see how varied a batch is. The batch must be divisible by the
    group size; otherwise the whole batch is one group.
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        g = self.group_size if n % self.group_size == 0 else n
        groups = x.reshape(g, n // g, *x.shape[1:])  # sample i is in group i % (n // g)
        std = (groups.var(0, unbiased=False) + self.eps).sqrt().flatten(1).mean(1)
        std = std.repeat(g).to(x.dtype)  # back to one value per sample, in x's order
        extra = std.reshape(n, *([1] * (x.dim() - 1))).expand(n, 1, *x.shape[2:])
        return torch.cat([x, extra], 1)


def minibatch_std(D: nn.Module, group_size: int = 4) -> nn.Module:
    """Put a :class:`MinibatchStd` layer before the head of ``D`` (a network with
    ``.head = nn.Linear``, like both shared discriminators), in place; the head gets one more
    input, freshly initialised (PyTorch's default). Returns ``D``."""
    head = getattr(D, "head", None)
    if not isinstance(head, nn.Linear):
        raise ValueError("minibatch_std needs a discriminator whose .head is an nn.Linear")
    new = nn.Linear(head.in_features + 1, head.out_features).to(head.weight.device)
    D.head = nn.Sequential(MinibatchStd(group_size), new)
    return D
