"""The loss registry: ``names()`` lists every loss, ``get(name, **params)`` builds its Objective,
``make_models(name, kind)`` builds the networks it trains.

Each loss lives in its own module (named as its chapter) as pure functions
``d_loss(...)`` / ``g_loss(...)`` on discriminator outputs; the factories below wrap
them with the paper's defaults into an :class:`ganlib.objective.Objective`. Any keyword
that ``Objective`` accepts (``lr``, ``n_critic``, ``penalty``, ``instance_noise``...)
overrides a default, so ``get("hinge", penalty=partial(penalties.r1, gamma=1.0))`` adds R1
to the hinge loss.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from ganlib import models, penalties
from ganlib.losses import (
    acgan,
    began,
    cgan,
    dragan,
    ebgan,
    hinge,
    infogan,
    lsgan,
    minimax,
    nonsaturating,
    relativistic,
    wgan,
    wgan_gp,
)
from ganlib.losses._common import fake_only, validation
from ganlib.losses._nets import autoencoder
from ganlib.objective import Objective, check_number

_REGISTRY: dict[str, Callable[..., Objective]] = {}


def register(name: str):
    """Decorator: register ``factory(**params) -> Objective`` under ``name``."""

    def deco(factory):
        if name in _REGISTRY:
            raise ValueError(f"loss {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def names() -> list[str]:
    """Registered loss names, in chapter order."""
    return list(_REGISTRY)


def _check_name(name: str) -> None:
    if name not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; known losses: {', '.join(names())}")


def get(name: str, **params) -> Objective:
    """Build the Objective for loss ``name`` (paper defaults, overridable by ``params``)."""
    _check_name(name)
    return _REGISTRY[name](**params)


def _smoothed(d_loss, real_label: float, opt: dict):
    """``d_loss`` with one-sided label smoothing (real target ``real_label``), recorded in
    the objective's params; the plain function when ``real_label`` is 1."""
    if real_label == 1.0:
        return d_loss
    minimax.check_real_label(real_label)
    opt["params"] = {**opt.get("params", {}), "real_label": real_label}
    return partial(d_loss, real_label=real_label)


@register("minimax")
def _minimax(real_label: float = 1.0, **opt) -> Objective:
    return Objective("minimax", _smoothed(minimax.d_loss, real_label, opt),
                     partial(fake_only, minimax.g_loss), **opt)


@register("nonsaturating")
def _nonsaturating(real_label: float = 1.0, **opt) -> Objective:
    return Objective("nonsaturating", _smoothed(nonsaturating.d_loss, real_label, opt),
                     partial(fake_only, nonsaturating.g_loss), **opt)


@register("lsgan")
def _lsgan(coding: str | tuple[float, float, float] = "0-1-1", **opt) -> Objective:
    a, b, c = lsgan.coding(coding)
    return Objective("lsgan", partial(lsgan.d_loss, a=a, b=b),
                     partial(fake_only, lsgan.g_loss, c=c), params={"a": a, "b": b, "c": c},
                     **opt)


@register("wgan")
def _wgan(**opt) -> Objective:
    opt = {"clip": 0.01, "n_critic": 5, "optimizer": "rmsprop", "lr": 5e-5, **opt}
    return Objective("wgan", wgan.d_loss, partial(fake_only, wgan.g_loss), **opt)


register("wgan-gp")(wgan_gp.objective)
register("dragan")(dragan.objective)


@register("hinge")
def _hinge(**opt) -> Objective:
    return Objective("hinge", hinge.d_loss, partial(fake_only, hinge.g_loss), **opt)


register("ebgan")(ebgan.objective)
register("began")(began.objective)
register("cgan")(cgan.objective)
register("acgan")(acgan.objective)
register("infogan")(infogan.objective)


@register("ragan")
def _ragan(form: str = "standard", **opt) -> Objective:
    if form not in relativistic.FORMS:
        raise ValueError(f"unknown relativistic form {form!r}: use one of {relativistic.FORMS}")
    return Objective("ragan", partial(relativistic.d_loss, form=form),
                     partial(relativistic.g_loss, form=form), g_needs_real=True,
                     params={"form": form}, **opt)


@register("r1")
def _r1(gamma: float = 10.0, r2: bool = False, **opt) -> Objective:
    """The non-saturating loss with R1 (Mescheder et al. 2018), or R2 with ``r2=True``."""
    check_number("r1", "gamma", gamma)
    penalty = partial(penalties.r2 if r2 else penalties.r1, gamma=gamma)
    return Objective("r1", nonsaturating.d_loss, partial(fake_only, nonsaturating.g_loss),
                     penalty=penalty, params={"gamma": gamma, "r2": r2}, **opt)


# Default number of classes of the labels each kind of data carries (ring8's mode index,
# Fashion-MNIST's class); pass n_classes=25 for grid25.
N_CLASSES = {"2d": 8, "image": 10, "image-small": 10}
_NO_BATCHNORM = ("wgan-gp", "dragan", "r1")  # per-sample gradient penalties


def make_models(name: str, kind: str = "2d", **kw) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair that loss ``name`` trains, for ``kind`` = "2d", "image" or
    "image-small" (:data:`ganlib.models.KINDS`).

    Every loss gets the shared pair of :func:`ganlib.models.pair`, changed only where the loss
    needs it:

    * ``wgan-gp``, ``dragan``, ``r1``: the critic without BatchNorm (per-sample penalties);
    * ``ebgan``, ``began``: an autoencoder discriminator (:func:`ganlib.losses._nets.autoencoder`);
    * ``cgan``: both networks conditioned on ``n_classes`` labels (8 for 2-D, 10 for images);
    * ``acgan``: a conditional G and an unconditional D with ``1 + n_classes`` outputs;
    * ``infogan``: G's ``z_dim`` holds noise and codes (``n_categories``, ``n_continuous``
      as for ``get("infogan", kind=kind)``).

    Other keywords (``z_dim``...) go to :func:`ganlib.models.pair`.
    """
    _check_name(name)
    models.data_kind(kind)  # a clear error for an unknown kind
    if name in _NO_BATCHNORM:
        kw.setdefault("batchnorm", False)
    if name in ("ebgan", "began"):
        return models.pair(kind, **kw)[0], autoencoder(kind)
    if name == "cgan":
        kw.setdefault("n_classes", N_CLASSES[kind])
    if name == "acgan":
        k = kw.pop("n_classes", N_CLASSES[kind])
        G, _ = models.pair(kind, n_classes=k, **kw)
        _, D = models.pair(kind, d_out=1 + k, **kw)
        return G, D
    if name == "infogan":
        k_default, m_default = infogan.CODES[kind]
        k, m = kw.pop("n_categories", k_default), kw.pop("n_continuous", m_default)
        kw["z_dim"] = infogan.NOISE_DIM[kind] + k + m
    return models.pair(kind, **kw)


__all__ = ["Objective", "get", "names", "register", "make_models", "validation", "minimax",
           "nonsaturating", "lsgan", "wgan", "wgan_gp", "dragan", "hinge", "ebgan", "began",
           "cgan", "acgan", "infogan", "relativistic"]
