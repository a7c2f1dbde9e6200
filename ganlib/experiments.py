"""The experiments every chapter runs, so that chapters differ only in the loss.

``setup`` builds a loss with the settings that fit the data (:mod:`ganlib.settings`) and the
networks it trains, their initial weights set by the seed alone; ``train_2d`` trains the MLP
pair on a mixture and scores it; ``train_images`` trains the conv pair on Fashion-MNIST.
Both take sizes from a :class:`ganlib.config.Profile`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ganlib import config, data, models, settings, train
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
    d_updates: int = 0  # discriminator updates: generator steps times n_critic
    steps: int = 0  # generator steps
    curve: list[dict] = field(default_factory=list)  # {"step": s, **metrics} per evaluation
    G_ema: nn.Module | None = None  # the moving average of G's weights, when trained with one

    @property
    def generator(self) -> nn.Module:
        """The generator the run is scored by: the moving average when there is one."""
        return self.G if self.G_ema is None else self.G_ema


def _score(G: nn.Module, objective: Objective, mixture: data.Mixture, n: int, seed: int):
    """``n`` samples of G drawn under ``seed`` (the random state is left as it was), and
    their mode metrics."""
    device = mixture.device
    with train.seeded(seed, device):
        # conditional generators draw every class equally often
        y = (torch.arange(n, device=device) % G.n_classes) if G.n_classes else None
        samples = train.generate(G, n, y=y, latent=objective.latent)
    return samples.cpu(), mode_metrics(samples, mixture, seed=seed)


def train_2d(objective: Objective, mixture: data.Mixture, profile: config.Profile,
             seed: int = 0, nets: tuple[nn.Module, nn.Module] | None = None,
             ema: float | None = None, eval_every: int | None = None, **fit_kw) -> Run:
    """Train on a 2-D mixture for ``profile.steps_2d`` steps; score ``n_eval_2d`` samples.

    Without ``nets``, the loss's networks are built as :func:`setup` builds them, from the
    seed alone. With ``ema`` > 0 (default: the objective's ``ema``) the scores are those of
    the moving average of G's weights with that decay. ``eval_every`` also scores it every
    that many steps (``run.curve``), without changing the run.
    """
    device = mixture.device
    G, D = nets or networks(objective.name, mixture, seed=seed)
    G, D = G.to(device), D.to(device)
    ema = objective.ema if ema is None else ema
    G_ema = copy.deepcopy(G) if ema else None
    scored = G if G_ema is None else G_ema
    fit_kw.setdefault("conditional", objective.conditional)
    curve: list[dict] = []

    def evaluate(step: int) -> None:
        if eval_every and step % eval_every == 0 and step < profile.steps_2d:
            _, m = _score(scored, objective, mixture, profile.n_eval_2d, seed)
            curve.append({"step": step, **m.as_dict()})

    config.seed_everything(seed)
    history = train.fit(G, D, objective, mixture, steps=profile.steps_2d,
                        batch_size=profile.batch_2d, seed=seed,
                        sample_every=max(1, profile.steps_2d // 4), n_fixed=1_000,
                        ema=G_ema, ema_decay=ema or 0.999, callback=evaluate, **fit_kw)
    samples, metrics = _score(scored, objective, mixture, profile.n_eval_2d, seed)
    if eval_every:
        curve.append({"step": profile.steps_2d, **metrics.as_dict()})
    return Run(G, D, history, samples, metrics, d_updates=profile.steps_2d * objective.n_critic,
               steps=profile.steps_2d, curve=curve, G_ema=G_ema,
               extra={"mixture": mixture.to("cpu")})


def train_images(objective: Objective, images: data.Images, profile: config.Profile,
                 seed: int = 0, nets: tuple[nn.Module, nn.Module] | None = None,
                 ema: float | None = None, **fit_kw) -> Run:
    """Train on Fashion-MNIST for ``profile.image_steps(n_critic)`` generator steps (that
    is ``profile.steps_image`` unless the profile gives every loss equal discriminator
    updates): the loss's networks of kind
    ``profile.image_pair``, built from the seed alone, unless ``nets`` are given. With
    ``ema`` > 0 (default: the objective's ``ema``) ``run.G_ema`` is the moving average of G's
    weights, and ``run.samples`` are drawn from it."""
    device = images.device
    if nets is None and objective.params.get("kind", profile.image_pair) != profile.image_pair:
        raise ValueError(f"{objective.name} was built for {objective.params['kind']!r} networks "
                         f"but profile {profile.name!r} trains {profile.image_pair!r}: build it "
                         f"with experiments.setup(..., pair=profile.image_pair)")
    G, D = nets or networks(objective.name, images, seed=seed, pair=profile.image_pair)
    G, D = G.to(device), D.to(device)
    ema = objective.ema if ema is None else ema
    G_ema = copy.deepcopy(G) if ema else None
    fit_kw.setdefault("conditional", objective.conditional)
    steps = profile.image_steps(objective.n_critic)
    config.seed_everything(seed)
    history = train.fit(G, D, objective, images, steps=steps,
                        batch_size=profile.batch_image, seed=seed,
                        sample_every=max(1, steps // 4), ema=G_ema,
                        ema_decay=ema or 0.999, **fit_kw)
    samples = history.samples[steps]
    if G_ema is not None:  # the same fixed inputs as the snapshots, through the average
        fixed = train.seeded_latent(objective.latent, len(samples), G.z_dim, 1234, device)
        y = (torch.arange(len(samples), device=device) % G.n_classes
             if fit_kw["conditional"] else None)
        samples = train.generate(G_ema, len(samples), z=fixed, y=y).cpu()
    return Run(G, D, history, samples, d_updates=steps * objective.n_critic, steps=steps,
               G_ema=G_ema)


def _dataset(source) -> tuple[str | None, str, int | None]:
    """(dataset name or None, kind, number of labels) of a data object, name or kind."""
    if isinstance(source, data.Mixture):
        return source.name, "2d", len(source.centers)
    if isinstance(source, data.Images):
        return "fashion-mnist", "image", len(source.classes)
    if source in ("2d", "image"):
        return None, source, None
    if source in data.MIXTURES:
        return source, "2d", len(data.MIXTURES[source]().centers)
    if source == "fashion-mnist":
        return source, "image", len(data.FASHION_CLASSES)
    raise ValueError(f"unknown data {source!r}: use one of {settings.DATASETS}, a mixture or "
                     "images from ganlib.data, or the kind '2d' / 'image'")


def networks(name: str, source, n_classes: int | None = None, seed: int | None = None,
             pair: str | None = None) -> tuple[nn.Module, nn.Module]:
    """The networks loss ``name`` trains on ``source`` (see :func:`setup`), their initial
    weights drawn after seeding with ``seed`` (when given); on images, ``pair`` chooses the
    networks ("image", the default, or "image-small")."""
    from ganlib import losses

    _, kind, labels = _dataset(source)
    if pair is not None and kind == "image":
        if models.data_kind(pair) != "image":
            raise ValueError(f"pair {pair!r} is not an image pair: use 'image' or 'image-small'")
        kind = pair
    if seed is not None:
        config.seed_everything(seed)
    n_classes = n_classes or labels
    net_kw = {"n_classes": n_classes} if n_classes and name in ("cgan", "acgan") else {}
    dataset = _dataset(source)[0]
    if name == "infogan" and dataset is not None:  # G's input holds the settings' codes
        chosen = {s.key: s.value for s in settings.settings(name, dataset)}
        if "n_categories" in chosen:
            net_kw["n_categories"] = chosen["n_categories"]
    return losses.make_models(name, kind, **net_kw)


def setup(name: str, source, n_classes: int | None = None, seed: int | None = None,
          paper: bool = False, pair: str | None = None, with_nets: bool = True, **params):
    """Everything ``fit`` needs to train loss ``name`` on ``source``:
    ``(objective, (G, D), fit_kwargs)``.

    ``source`` is a dataset ("ring8", "grid25", "fashion-mnist") or a mixture or images from
    :mod:`ganlib.data`: the objective then has the settings that fit that data
    (:func:`ganlib.settings.objective`; ``paper=True`` for the paper's values). The kind
    "2d" or "image" alone gives the paper's values. The networks are those the loss needs
    (conditional nets for cgan/acgan with ``n_classes`` labels, the data's by default,
    InfoGAN's codes, autoencoders for EBGAN/BEGAN). With ``seed``, their initial weights
    depend on the seed alone, not on whatever ran before in the process. On images, ``pair``
    chooses the networks ("image" or "image-small"; pass ``profile.image_pair``).
    ``with_nets=False`` builds no networks (``(G, D)`` is then ``None``), for a caller that
    builds its own.
    """
    from ganlib import losses

    dataset, kind, _ = _dataset(source)
    nets = networks(name, source, n_classes, seed, pair) if with_nets else None
    if kind == "image" and pair is not None:
        kind = pair
    if dataset is None:
        objective = losses.get(name, **({"kind": kind, **params} if name == "infogan"
                                        else params))
    else:
        objective = settings.objective(name, dataset, paper=paper, pair=pair, **params)
    return objective, nets, {"conditional": True} if objective.conditional else {}


def run_2d(name: str, mixture: data.Mixture, profile: config.Profile, seed: int = 0,
           evaluations: int = 8, paper: bool = False, fit_kw: dict | None = None,
           transform_d=None, build_nets=None, settings_of: str | None = None,
           **params) -> Run:
    """Loss ``name`` with the settings that fit ``mixture`` (:func:`setup`; ``params``
    override them), trained by :func:`train_2d` and scored at ``evaluations`` evenly spaced
    steps (``run.curve``, for :func:`ganlib.readout.settled`). ``fit_kw`` go to
    :func:`ganlib.train.fit` (e.g. ``lr_d``, ``lr_g``); ``transform_d`` (e.g.
    :func:`ganlib.models.spectral_norm`) is applied to the discriminator before training.
    ``build_nets`` (e.g. ``functools.partial(models.pair, "2d", activation=nn.Tanh)``)
    builds (G, D) instead of the loss's networks, after seeding with ``seed``;
    ``settings_of`` names the data set whose settings to use (a rescaled ring takes
    ``"ring8"``'s). ``run.extra["objective"]`` is the loss as trained."""
    objective, nets, kw = setup(name, settings_of or mixture, seed=seed, paper=paper,
                                with_nets=build_nets is None, **params)
    if build_nets is not None:
        config.seed_everything(seed)
        nets = build_nets()
    G, D = nets
    if transform_d is not None:
        D = transform_d(D)
    run = train_2d(objective, mixture, profile, seed, nets=(G, D),
                   eval_every=max(1, profile.steps_2d // evaluations), **kw, **(fit_kw or {}))
    run.extra["objective"] = objective
    return run


def run_images(name: str, images: data.Images, profile: config.Profile, seed: int = 0,
               paper: bool = False, keep_initial: bool = False, **params) -> Run:
    """Loss ``name`` with its Fashion-MNIST settings on the profile's image pair, trained by
    :func:`train_images` and scored by :func:`ganlib.evaluate` on ``profile.n_eval_image``
    samples of ``run.generator`` (``run.extra["scores"]``); ``keep_initial`` keeps copies of
    the untrained networks in ``run.extra["initial"]``."""
    from ganlib.evaluator import evaluate

    objective, nets, kw = setup(name, images, seed=seed, paper=paper, pair=profile.image_pair,
                                **params)
    initial = tuple(copy.deepcopy(n) for n in nets) if keep_initial else None
    run = train_images(objective, images, profile, seed, nets=nets, **kw)
    if initial is not None:
        run.extra["initial"] = initial
    run.extra["objective"] = objective
    run.extra["scores"] = evaluate(run.generator, n=profile.n_eval_image, seed=seed,
                                   latent=objective.latent)
    return run
