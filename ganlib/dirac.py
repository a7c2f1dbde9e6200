r"""The Dirac-GAN of Mescheder, Geiger and Nowozin (2018, section 2.2).

The data is a point mass at 0, the generator a point mass at :math:`\theta`, and the
discriminator linear, :math:`D_\psi(x) = \psi x`. The only equilibrium is
:math:`(\theta, \psi) = (0, 0)`. Everything here runs the *library's own* objectives
(losses and penalties) on this one-parameter pair through autograd, so the field shown
in a chapter is the field of the code that trains the real networks.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganlib.losses import validation
from ganlib.objective import Objective


class DiracCritic(nn.Module):
    """:math:`D_\\psi(x) = \\psi x` for scalar inputs of shape (n, 1)."""

    def __init__(self, psi: torch.Tensor):
        super().__init__()
        self.psi = psi

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return (self.psi * x).squeeze(1)


def vector_field(objective: Objective, theta: torch.Tensor, psi: torch.Tensor,
                 create_graph: bool = False, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient-descent velocity :math:`(-\partial_\theta L_G, -\partial_\psi L_D)` at a point.

    ``batch`` copies of the two points make up each batch: it changes nothing for a
    deterministic objective and averages the noise of a stochastic one (instance noise).
    """
    theta = theta.detach().double().requires_grad_(True)
    psi = psi.detach().double().requires_grad_(True)
    return _field(objective, theta, psi, create_graph, batch)


def _field(objective, theta, psi, create_graph, batch=1):
    D = DiracCritic(psi)
    real = torch.zeros(batch, 1, dtype=torch.float64)
    fake = theta.reshape(1, 1).expand(batch, 1)
    with validation(False):
        loss_d, _ = objective.discriminator_step(D, real, fake.detach() if not create_graph
                                                 else fake)
        (g_psi,) = torch.autograd.grad(loss_d, psi, create_graph=create_graph)
        loss_g, _ = objective.generator_step(D, real, fake)
        (g_theta,) = torch.autograd.grad(loss_g, theta, create_graph=create_graph)
    return -g_theta, -g_psi


def field_on_grid(objective: Objective, lim: float = 2.0, n: int = 21):
    """The field on an ``n`` x ``n`` grid over [-lim, lim]^2 (theta on x, psi on y)."""
    axis = np.linspace(-lim, lim, n)
    U = np.zeros((n, n))
    V = np.zeros((n, n))
    for i, psi in enumerate(axis):
        for j, theta in enumerate(axis):
            u, v = vector_field(objective, torch.tensor(theta), torch.tensor(psi))
            U[i, j], V[i, j] = float(u), float(v)
    return axis, U, V


def jacobian(objective: Objective, theta: float = 0.0, psi: float = 0.0,
             batch: int = 1) -> torch.Tensor:
    """Jacobian of the field at a point (2 x 2, float64); at (0, 0) it decides local convergence."""

    def f(v):
        u, w = _field(objective, v[0], v[1], create_graph=True, batch=batch)
        return torch.stack([u, w])

    v0 = torch.tensor([theta, psi], dtype=torch.float64, requires_grad=True)
    return torch.autograd.functional.jacobian(f, v0)


def eigenvalues(objective: Objective, theta: float = 0.0, psi: float = 0.0,
                batch: int = 1) -> np.ndarray:
    """Eigenvalues of the Jacobian: all real parts < 0 means locally convergent."""
    return np.linalg.eigvals(jacobian(objective, theta, psi, batch).numpy())


def simulate(objective: Objective, theta0: float = 1.0, psi0: float = 1.0, lr: float = 0.1,
             steps: int = 500, alternating: bool = False, batch: int = 1) -> np.ndarray:
    """Gradient descent on both players (simultaneous or alternating); returns (steps+1, 2)."""
    theta = torch.tensor(float(theta0), dtype=torch.float64)
    psi = torch.tensor(float(psi0), dtype=torch.float64)
    path = [(theta0, psi0)]
    for _ in range(steps):
        u, w = vector_field(objective, theta, psi, batch=batch)
        psi = psi + lr * w
        if objective.clip is not None:
            psi = psi.clamp(-objective.clip, objective.clip)
        if alternating:
            u, _ = vector_field(objective, theta, psi, batch=batch)
        theta = theta + lr * u
        path.append((float(theta), float(psi)))
    return np.asarray(path)


def energy_rate(objective: Objective, theta: float, psi: float) -> float:
    r"""Rate of change of :math:`E = (\theta^2 + \psi^2)/2` along the continuous-time flow.

    :math:`\dot E = \theta\dot\theta + \psi\dot\psi` with the field of :func:`vector_field`.
    It is 0 for a pure rotation (minimax, unclipped WGAN); its sign says whether the flow
    loses or gains distance to the equilibrium where the linearisation cannot tell.
    """
    theta, psi = float(theta), float(psi)
    u, w = vector_field(objective, torch.tensor(theta, dtype=torch.float64),
                        torch.tensor(psi, dtype=torch.float64))
    return theta * float(u) + psi * float(w)


def flow(objective: Objective, theta0: float = 1.0, psi0: float = 1.0, t: float = 50.0,
         dt: float = 0.05) -> np.ndarray:
    """The continuous-time flow of the field (gradient descent as the learning rate goes to
    0), integrated with the classical fourth-order Runge-Kutta method; returns an array of
    shape (round(t / dt) + 1, 2). A WGAN objective's clipping is not applied."""

    def f(v: np.ndarray) -> np.ndarray:
        u, w = vector_field(objective, torch.from_numpy(v[:1]), torch.from_numpy(v[1:]))
        return np.array([float(u), float(w)])

    v = np.array([theta0, psi0], dtype=np.float64)
    path = [v]
    for _ in range(round(t / dt)):
        k1 = f(v)
        k2 = f(v + dt / 2 * k1)
        k3 = f(v + dt / 2 * k2)
        k4 = f(v + dt * k3)
        v = v + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(v)
    return np.asarray(path)


def oscillation(path: np.ndarray, last: int = 300) -> tuple[float, float]:
    r"""Amplitude and half-period of :math:`\theta` over the last ``last`` steps of a path
    from :func:`simulate`: :math:`\max|\theta|`, and the mean number of steps between
    sign changes of :math:`\theta` (nan with fewer than two sign changes)."""
    theta = path[-last:, 0]
    changes = np.nonzero(np.sign(theta[1:]) != np.sign(theta[:-1]))[0]
    half_period = float(np.diff(changes).mean()) if len(changes) > 1 else float("nan")
    return float(np.abs(theta).max()), half_period
