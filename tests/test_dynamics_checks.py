"""Numerical checks behind the dynamics claims of chapters 02, 04 and 07, and the W1 closed
form that chapter 04 checks its critic against. Each test repeats a check cell of its
chapter on the library's own objectives.
"""

import math

import numpy as np
import pytest
import torch

from ganlib import dirac, losses, theory


def energy(path: np.ndarray) -> np.ndarray:
    return (path**2).sum(1) / 2


# Chapter 02: the non-saturating flow loses energy, the minimax flow keeps it.

@pytest.mark.parametrize("theta, psi", [(1.0, 1.0), (0.5, -2.0), (2.0, 0.3), (0.0, 1.0),
                                        (-1.5, -0.7)])
def test_nonsaturating_energy_rate_is_minus_u_tanh_half_u(theta, psi):
    # dE/dt = theta psi (1 - sigma(u)) - psi theta sigma(u) = -u tanh(u / 2), u = psi theta
    u = psi * theta
    rate = dirac.energy_rate(losses.get("nonsaturating"), theta, psi)
    assert rate == pytest.approx(-u * math.tanh(u / 2), abs=1e-12)
    assert rate <= 0.0
    assert dirac.energy_rate(losses.get("minimax"), theta, psi) == pytest.approx(0.0, abs=1e-12)


def test_nonsaturating_flow_loses_energy_and_minimax_flow_keeps_it():
    e_ns = energy(dirac.flow(losses.get("nonsaturating"), 1.0, 1.0, t=50.0, dt=0.2))
    e_mm = energy(dirac.flow(losses.get("minimax"), 1.0, 1.0, t=50.0, dt=0.2))
    assert np.diff(e_ns).max() <= 1e-9  # non-increasing at every step
    assert e_ns[-1] < 0.1 * e_ns[0]  # and it decreases: from 1 to about 0.075
    assert np.abs(e_mm - e_mm[0]).max() < 1e-4  # conserved up to the integrator's error


def test_nonsaturating_simultaneous_steps_settle_at_sqrt_2_lr():
    # E gains about lr^2 r^2 / 8 per simultaneous step and loses about lr r^4 / 16: they
    # balance at r = sqrt(2 lr), so the steps neither converge nor spiral out
    path = dirac.simulate(losses.get("nonsaturating"), 1.0, 1.0, lr=0.1, steps=3000)
    r = np.hypot(path[-300:, 0], path[-300:, 1]).mean()
    assert r == pytest.approx(math.sqrt(2 * 0.1), abs=0.02)


# Chapter 04: weight clipping sets the amplitude of the Dirac-GAN's oscillation, the learning
# rate its period (the clipped map is homogeneous in (theta, psi, c)).

def test_wgan_clipping_sets_amplitude_and_learning_rate_sets_period():
    def run(c, lr):
        path = dirac.simulate(losses.get("wgan", clip=c), 0.1, 0.0, lr=lr, steps=600)
        return dirac.oscillation(path, last=300)

    (a1, h1), (a5, h5) = run(0.01, 0.1), run(0.05, 0.1)
    assert a5 / a1 == pytest.approx(5.0, rel=1e-2)  # amplitude proportional to c
    assert h1 == h5  # the same half-period, in steps, whatever the bound
    for lr in (0.05, 0.1, 0.2):
        _, half = run(0.01, lr)
        assert lr * half == pytest.approx(math.pi, rel=0.06)  # half-period about pi / lr steps


# Chapter 04: a pair whose W1 is not the difference of means.

@pytest.mark.parametrize("s", [0.5, 2.0])
def test_w1_between_centred_normals_of_different_spread(s):
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(200_000, generator=gen, dtype=torch.float64)
    fake = s * torch.randn(200_000, generator=gen, dtype=torch.float64)
    closed = abs(1 - s) * math.sqrt(2 / math.pi)
    assert theory.wasserstein1(real, fake) == pytest.approx(closed, rel=2e-2)
    assert abs(real.mean() - fake.mean()).item() < 0.02 * closed  # means equal: a linear
    # critic f(x) = a x would estimate 0


# Chapter 07: the hinge's dead zone psi theta <= -1 removes energy, and only orbits of radius
# at least sqrt 2 reach it.

@pytest.mark.parametrize("theta, psi", [(1.0, -1.5), (2.0, -0.6), (-3.0, 0.5), (1.0, -1.0)])
def test_hinge_dead_zone_energy_rate(theta, psi):
    rate = dirac.energy_rate(losses.get("hinge"), theta, psi)
    assert rate == pytest.approx(theta * psi, abs=1e-12)  # d/dt (theta^2 + psi^2) = 2 theta psi
    assert 2 * rate <= -2.0


@pytest.mark.parametrize("theta, psi", [(0.5, 0.5), (1.0, -0.9), (-2.0, 0.3), (0.0, 1.0)])
def test_hinge_conserves_energy_outside_the_dead_zone(theta, psi):
    assert dirac.energy_rate(losses.get("hinge"), theta, psi) == pytest.approx(0.0, abs=1e-12)


def test_hinge_flow_keeps_small_orbits_and_damps_large_ones_to_sqrt2():
    hinge = losses.get("hinge")
    for r0 in (1.2, 3.0):
        path = dirac.flow(hinge, r0 / math.sqrt(2), r0 / math.sqrt(2), t=30.0, dt=0.05)
        r = np.hypot(path[:, 0], path[:, 1])
        assert np.diff(r).max() <= 1e-9
        if r0 < math.sqrt(2):
            assert r[-1] == pytest.approx(r0, abs=1e-6)  # never in the dead zone: kept
        else:
            assert r[-1] == pytest.approx(math.sqrt(2), abs=5e-3)  # damped to sqrt 2
