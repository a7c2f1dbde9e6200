"""The experiments every chapter runs, so that chapters differ only in the loss.

``train_2d`` trains the MLP pair on a mixture and scores it; ``train_images`` trains the
conv pair on Fashion-MNIST. Both take sizes from a :class:`ganlib.config.Profile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ganlib import config, data, models, train
from ganlib.metrics import ModeMetrics, mode_metrics
from ganlib.objective import Objective


@dataclass
class Run:
    """One training run: the networks, what happened, and samples drawn after training."""

    G: nn.Module
    D: nn.Module
    history: train.History
    samples: torch.Tensor
    metrics: ModeMetrics | None = None
    extra: dict = field(default_factory=dict)


def train_2d(objective: Objective, mixture: data.Mixture, profile: config.Profile,
             seed: int = 0, nets: tuple[nn.Module, nn.Module] | None = None,
             **fit_kw) -> Run:
    """Train on a 2-D mixture for ``profile.steps_2d`` steps; score ``n_eval_2d`` samples."""
    device = mixture.device
    config.seed_everything(seed)
    G, D = nets or models.pair("2d")
    G, D = G.to(device), D.to(device)
    history = train.fit(G, D, objective, mixture, steps=profile.steps_2d,
                        batch_size=profile.batch_2d, seed=seed,
                        sample_every=max(1, profile.steps_2d // 4), n_fixed=1_000, **fit_kw)
    # conditional generators draw every class equally often
    y = (torch.arange(profile.n_eval_2d, device=device) % G.n_classes) if G.n_classes else None
    samples = train.generate(G, profile.n_eval_2d, y=y, latent=objective.latent)
    return Run(G, D, history, samples.cpu(), mode_metrics(samples, mixture, seed=seed))


def train_images(objective: Objective, images: data.Images, profile: config.Profile,
                 seed: int = 0, nets: tuple[nn.Module, nn.Module] | None = None,
                 **fit_kw) -> Run:
    """Train the conv pair on Fashion-MNIST for ``profile.steps_image`` steps."""
    device = images.device
    config.seed_everything(seed)
    G, D = nets or models.pair("image")
    G, D = G.to(device), D.to(device)
    history = train.fit(G, D, objective, images, steps=profile.steps_image,
                        batch_size=profile.batch_image, seed=seed,
                        sample_every=max(1, profile.steps_image // 4), **fit_kw)
    return Run(G, D, history, history.samples[profile.steps_image])


def setup(name: str, kind: str, n_classes: int | None = None, seed: int | None = None,
          **params):
    """Everything ``fit`` needs to train loss ``name`` on ``kind`` ("2d" or "image") data:
    ``(objective, (G, D), fit_kwargs)``, with the networks the loss needs (conditional nets
    for cgan/acgan with ``n_classes`` labels, InfoGAN's codes, autoencoders for EBGAN/BEGAN).

    With ``seed``, the networks' initial weights depend on the seed alone, not on whatever
    ran before in the process (a sweep's cells must not depend on their order).
    """
    from ganlib import losses

    if seed is not None:
        config.seed_everything(seed)

    if name == "infogan":
        params.setdefault("kind", kind)
    objective = losses.get(name, **params)
    net_kw = {"n_classes": n_classes} if n_classes and name in ("cgan", "acgan") else {}
    nets = losses.make_models(name, kind, **net_kw)
    conditional = name in ("cgan", "acgan")
    return objective, nets, {"conditional": conditional} if conditional else {}
