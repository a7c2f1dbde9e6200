r"""Closed forms the chapters derive, computed on known distributions.

1-D densities are evaluated on a grid and integrated with the trapezoidal rule in
float64; the tests compare these with the losses in ``ganlib.losses``.
"""

from __future__ import annotations

import math

import numpy as np
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


def pearson_chi2(p: torch.Tensor, q: torch.Tensor, x: torch.Tensor) -> float:
    r"""Pearson :math:`\chi^2(p\,\|\,q) = \int (p - q)^2 / q` on grid ``x`` (q > 0 where p is).

    This is the f-divergence convention (:math:`f(t) = (t - 1)^2`). The LSGAN paper (section 3.2.2)
    writes :math:`\chi^2_\text{Pearson}(p_r + p_g \,\|\, 2p_g)` for
    :math:`\int (2p_g - (p_r + p_g))^2 / (p_r + p_g)`, with its *first* argument in the
    denominator: that is ``pearson_chi2(2 * p_g, p_r + p_g, x)`` here.
    """
    return integrate((p - q) ** 2 / q, x)


def lsgan_optimal_discriminator(p_r: torch.Tensor, p_g: torch.Tensor, a: float,
                                b: float) -> torch.Tensor:
    r"""Mao et al. 2017, Prop. 1: :math:`D^*(x) = (b\,p_r(x) + a\,p_g(x)) / (p_r(x) + p_g(x))`."""
    return (b * p_r + a * p_g) / (p_r + p_g)


def wasserstein1(u, v) -> float:
    r"""Exact :math:`W_1` between two 1-D empirical distributions (equal weights), by POT."""
    import ot  # POT is slow to import; only this function needs it

    return float(ot.wasserstein_1d(np.asarray(u, dtype=np.float64),
                                   np.asarray(v, dtype=np.float64), p=1))


def dirac_eigenvalues(f1: float = 0.5, f2: float = -0.25, gamma: float = 0.0,
                      sigma: float = 0.0):
    r"""Eigenvalues of the Dirac-GAN's Jacobian at the equilibrium (Mescheder et al. 2018).

    For :math:`L(\theta, \psi) = f(\psi\theta) + f(0)` with :math:`f'(0) = ` ``f1`` and
    :math:`f''(0) = ` ``f2`` (the GAN's :math:`f(t) = -\log(1 + e^{-t})`: 1/2 and -1/4), the
    Jacobian is :math:`\begin{pmatrix} 0 & f'(0) \\ -f'(0) & 2 f''(0)\sigma^2 - \gamma
    \end{pmatrix}`, so the eigenvalues are

    * :math:`\pm f'(0)\, i` unregularised (section 2.2): no convergence;
    * :math:`f''(0)\sigma^2 \pm \sqrt{f''(0)^2\sigma^4 - f'(0)^2}` with Gaussian instance noise
      of standard deviation :math:`\sigma` (section 3.2);
    * :math:`-\gamma/2 \pm \sqrt{\gamma^2/4 - f'(0)^2}` with a zero-centred gradient penalty
      :math:`\tfrac{\gamma}{2}\lVert\nabla D\rVert^2` (sections 3.3 and 4.1: R1, R2).
    """
    trace = 2 * f2 * sigma**2 - gamma
    return np.linalg.eigvals(np.array([[0.0, f1], [-f1, trace]]))


def gd_update_matrix(jacobian, lr: float, alternating: bool = False,
                     n_generator: int = 1) -> np.ndarray:
    r"""Jacobian of one gradient-descent step of a two-player game, at an equilibrium.

    ``jacobian`` is the Jacobian :math:`v'` of the field :math:`v = (u, w)` (for instance
    :func:`ganlib.dirac.jacobian`), with the ``n_generator`` generator coordinates first.
    With learning rate :math:`h`, a simultaneous step has Jacobian :math:`I + h\,v'`. An
    alternating step, discriminator first as in :func:`ganlib.dirac.simulate`
    (:math:`\psi' = \psi + h\,w(\theta, \psi)`, then
    :math:`\theta' = \theta + h\,u(\theta, \psi')`), has

    .. math::
        \begin{pmatrix} I + h u_\theta + h^2 u_\psi w_\theta & h\,u_\psi (I + h w_\psi) \\
        h\,w_\theta & I + h w_\psi \end{pmatrix}.

    If every eigenvalue has modulus below 1 the step converges locally (a sufficient
    condition); with the largest modulus exactly 1 the linearisation decides nothing.
    """
    J = np.asarray(jacobian, dtype=np.float64)
    n = n_generator
    eye = np.eye(len(J))
    if not alternating:
        return eye + lr * J
    u_t, u_p, w_t, w_p = J[:n, :n], J[:n, n:], J[n:, :n], J[n:, n:]
    i_g, i_d = eye[:n, :n], eye[n:, n:]
    return np.block([[i_g + lr * u_t + lr**2 * u_p @ w_t, lr * u_p @ (i_d + lr * w_p)],
                     [lr * w_t, i_d + lr * w_p]])
