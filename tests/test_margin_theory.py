"""Margin losses at an unconstrained optimum (chapters 07 and 08): the hinge loss and EBGAN
are total variation games, and BEGAN's bound on W1 between loss distributions holds.

p_r = N(0, 1) and p_g = N(mu, 1.3^2) on a float64 grid; each loss's two per-sample terms
come from the library, the other term held where it costs nothing.
"""

import pytest
import torch

from ganlib import theory
from ganlib.losses import ebgan, hinge

X = theory.grid(-12, 12, 24_001)
P_R = theory.gaussian_pdf(X, 0.0, 1.0)


def tv(p, q, keep_graph=False):
    return 0.5 * theory.integrate((p - q).abs(), X, keep_graph)


def hinge_value(D, p_g):
    real_term = hinge.d_loss(D, -torch.ones_like(D), reduction="none")
    fake_term = hinge.d_loss(torch.ones_like(D), D, reduction="none")
    return theory.integrate(P_R * real_term + p_g * fake_term, X)


def ebgan_value(energy, p_g, m):
    real_term = ebgan.d_loss(energy, torch.full_like(energy, m), m, reduction="none")
    fake_term = ebgan.d_loss(torch.zeros_like(energy), energy, m, reduction="none")
    return theory.integrate(P_R * real_term + p_g * fake_term, X)


@pytest.mark.parametrize("mu", [0.5, 1.5, 3.0])
def test_hinge_optimum_is_a_sign_with_value_2_minus_2tv(mu):
    p_g = theory.gaussian_pdf(X, mu, 1.3)
    d_star = torch.sign(P_R - p_g)
    value = hinge_value(d_star, p_g)
    assert value == pytest.approx(2 - 2 * tv(P_R, p_g), abs=1e-9)
    log_ratio = torch.log(P_R) - torch.log(p_g)
    for other in (d_star + 0.05 * torch.sin(3 * X), d_star - 0.3 * torch.sin(3 * X),
                  torch.tanh(log_ratio), log_ratio, torch.zeros_like(X)):
        assert hinge_value(other, p_g) > value


@pytest.mark.parametrize("mu0", [0.5, 1.5, 3.0])
def test_hinge_generator_follows_twice_the_tv_gradient(mu0):
    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    p_g = theory.gaussian_pdf(X, mu, 1.3)
    d_star = torch.sign(P_R - p_g.detach())  # frozen during the generator's step
    l_g = theory.integrate(p_g * hinge.g_loss(d_star, reduction="none"), X, keep_graph=True)
    (lhs,) = torch.autograd.grad(l_g, mu, retain_graph=True)
    (grad_tv,) = torch.autograd.grad(tv(P_R, p_g, keep_graph=True), mu)
    assert lhs.item() == pytest.approx(2 * grad_tv.item(), abs=1e-6)


@pytest.mark.parametrize("mu0", [0.5, 1.5, 3.0])
@pytest.mark.parametrize("m", [0.5, 1.0, 4.0])
def test_ebgan_optimum_has_value_m_1_minus_tv_and_generator_follows_m_grad_tv(mu0, m):
    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    p_g = theory.gaussian_pdf(X, mu, 1.3)
    pg = p_g.detach()
    e_star = m * (pg > P_R).double()
    value = ebgan_value(e_star, pg, m)
    assert value == pytest.approx(m * (1 - tv(P_R, pg)), abs=1e-9)
    for other in ((e_star + 0.05 * m * torch.sin(3 * X)).clamp(min=0), torch.zeros_like(X),
                  torch.full_like(X, m), m * torch.sigmoid(torch.log(pg) - torch.log(P_R))):
        assert ebgan_value(other, pg, m) > value
    l_g = theory.integrate(p_g * ebgan.g_loss(e_star, reduction="none"), X, keep_graph=True)
    (lhs,) = torch.autograd.grad(l_g, mu, retain_graph=True)
    (grad_tv,) = torch.autograd.grad(tv(P_R, p_g, keep_graph=True), mu)
    assert lhs.item() == pytest.approx(m * grad_tv.item(), abs=1e-6)


def test_began_bound_w1_between_loss_distributions_is_at_least_the_mean_gap():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(5_000, generator=gen, dtype=torch.float64)
    b = a[torch.randperm(len(a), generator=gen)]
    assert theory.wasserstein1(a, b + 0.3) == pytest.approx(0.3, abs=1e-9)  # tight: a shift
    spread = a.mean() + 2 * (b - b.mean())  # same mean, twice the spread: bound 0, W1 = 1/4
    assert abs(a.mean() - spread.mean()) < 1e-12
    assert theory.wasserstein1(a, spread) == pytest.approx(0.25, abs=0.02)
    for _ in range(5):
        u = torch.randn(500, generator=gen, dtype=torch.float64).exp()
        v = 2 * torch.rand(500, generator=gen, dtype=torch.float64)
        assert theory.wasserstein1(u, v) >= abs(u.mean() - v.mean()).item() - 1e-12
