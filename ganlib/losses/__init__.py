"""The loss registry: ``names()`` lists every loss, ``get(name, **params)`` builds its Objective.

Each loss lives in its own module (named as its chapter) as pure functions
``d_loss(...)`` / ``g_loss(...)`` on discriminator outputs; the factories below wrap
them with the paper's defaults into an :class:`ganlib.objective.Objective`.
"""

from __future__ import annotations

from collections.abc import Callable

from ganlib.losses import minimax, nonsaturating
from ganlib.losses._common import validation
from ganlib.objective import Objective

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


def get(name: str, **params) -> Objective:
    """Build the Objective for loss ``name`` (paper defaults, overridable by ``params``)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; known losses: {', '.join(names())}")
    return _REGISTRY[name](**params)


@register("minimax")
def _minimax(**opt) -> Objective:
    return Objective("minimax", minimax.d_loss, lambda fake, real: minimax.g_loss(fake), **opt)


@register("nonsaturating")
def _nonsaturating(**opt) -> Objective:
    return Objective("nonsaturating", nonsaturating.d_loss,
                     lambda fake, real: nonsaturating.g_loss(fake), **opt)


__all__ = ["Objective", "get", "names", "register", "validation", "minimax", "nonsaturating"]
