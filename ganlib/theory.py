r"""Closed forms the chapters derive, computed on known distributions.

1-D densities are evaluated on a grid and integrated with the trapezoidal rule in
float64; the tests compare these with the losses in ``ganlib.losses``.
"""

from __future__ import annotations

import math

import torch


def grid(lo: float = -10.0, hi: float = 10.0, n: int = 20_001) -> torch.Tensor:
    """An evenly spaced float64 grid for numerical integration."""
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def gaussian_pdf(x: torch.Tensor, mu: float = 0.0, sigma: float = 1.0) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def integrate(values: torch.Tensor, x: torch.Tensor, keep_graph: bool = False):
    """Trapezoidal integral; a float, or a tensor in the autograd graph with ``keep_graph``."""
    out = torch.trapezoid(values, x)
    return out if keep_graph else float(out)


def optimal_discriminator(p_r: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    r"""Goodfellow et al. 2014, Prop. 1: :math:`D^*(x) = p_r(x) / (p_r(x) + p_g(x))`."""
    return p_r / (p_r + p_g)


def _xlogy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, x * torch.log(torch.where(x > 0, y, torch.ones_like(y))),
                       torch.zeros_like(x))


def kl(p: torch.Tensor, q: torch.Tensor, x: torch.Tensor, keep_graph: bool = False):
    r""":math:`\mathrm{KL}(p\,\|\,q) = \int p \log(p/q)` for densities sampled on grid ``x``."""
    return integrate(_xlogy(p, p / q), x, keep_graph)


def jsd(p: torch.Tensor, q: torch.Tensor, x: torch.Tensor, keep_graph: bool = False):
    r"""Jensen-Shannon divergence (natural log): :math:`\tfrac12 KL(p\|m) + \tfrac12 KL(q\|m)`."""
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m, x, keep_graph) + 0.5 * kl(q, m, x, keep_graph)


def value_function(D: torch.Tensor, p_r: torch.Tensor, p_g: torch.Tensor,
                   x: torch.Tensor) -> float:
    r""":math:`V(D, G) = \int p_r \log D + p_g \log(1 - D)` for a discriminator on the grid."""
    return integrate(_xlogy(p_r, D) + _xlogy(p_g, 1 - D), x)
