"""Drawing from a generator: samples in eval mode (:func:`generate`) and inputs drawn under a
seed that leave the random streams as they were (:func:`seeded`, :func:`seeded_latent`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn


@torch.no_grad()
def generate(G: nn.Module, n: int, z_dim: int | None = None, y: torch.Tensor | None = None,
             batch: int = 1000, z: torch.Tensor | None = None,
             latent: Callable | None = None) -> torch.Tensor:
    """Draw ``n`` samples from G in eval mode (in batches), restoring G's mode afterwards.

    The inputs are ``z`` when given, else drawn per batch by ``latent(m, z_dim, device)``
    (an objective's ``latent``, e.g. InfoGAN's noise and codes), else z ~ N(0, I).
    """
    z_dim = G.z_dim if z_dim is None else z_dim
    draw = latent or (lambda m, d, dev: torch.randn(m, d, device=dev))
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    try:
        out = []
        for i in range(0, n, batch):
            m = min(batch, n - i)
            zi = z[i:i + batch] if z is not None else draw(m, z_dim, device)
            yi = None if y is None else y[i:i + batch]
            out.append(G(zi) if yi is None else G(zi, yi))
        return torch.cat(out)
    finally:
        G.train(was_training)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with the CPU's random stream, and ``device``'s if it is a GPU, seeded
    with ``seed``; afterwards both are as they were, and no other device's stream was touched.

    (``torch.manual_seed`` inside ``torch.random.fork_rng(devices=[])`` would reseed every
    GPU for good: a run on a GPU that drew its fixed samples that way continued with the
    samples' seed in place of its own, so that every seed drew the same data and noise.)
    """
    device = torch.device(device)
    cuda = device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def seeded_latent(latent: Callable, n: int, z_dim: int, seed: int,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """``latent(n, z_dim, device)`` drawn under ``seed`` (:func:`seeded`), leaving the
    random state as it was (so the same seed gives the same inputs, whatever ran before)."""
    with seeded(seed, device):
        return latent(n, z_dim, torch.device(device))
