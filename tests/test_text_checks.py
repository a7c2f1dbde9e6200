"""Checks behind sentences of chapters 10, 12 and 16 that state numbers or dynamics.

Each test repeats a check cell of its chapter, so that the claim holds for the library
whether or not the chapter is re-executed:

* chapter 10: with a unit-variance Gaussian Q and an uninformative sample, the continuous
  bound is largest at the mean 0, where it is log 2 - log(2 pi)/2 - 1/6 per code, not 0;
* chapter 12: the local-convergence condition |mu| < 1 is sufficient, not necessary, and
  the outward spiral of unregularised simultaneous descent holds only near the equilibrium;
* chapter 16: InfoGAN's generator loss contains minus the bound, so G and Q maximise it.
"""

import math

import numpy as np
import pytest
import torch

from ganlib import dirac, losses, theory
from ganlib.losses import infogan, nonsaturating


def distance(path: np.ndarray) -> np.ndarray:
    return np.hypot(path[:, 0], path[:, 1])


def test_continuous_bound_of_an_uninformative_sample():
    # c ~ U[-1, 1] by the midpoint rule; Q's mean mu is the same for every sample
    n = 200_000
    codes = (-1 + (2 * torch.arange(n, dtype=torch.float64) + 1) / n).unsqueeze(1)
    mus = np.linspace(-0.5, 0.5, 101)
    values = [infogan.continuous_bound(torch.full_like(codes, mu), codes).item() for mu in mus]
    best = int(np.argmax(values))
    expected = math.log(2) - 0.5 * math.log(2 * math.pi) - 1 / 6
    assert mus[best] == pytest.approx(0.0, abs=1e-12)
    assert values[best] == pytest.approx(expected, abs=1e-9)
    assert values[best] == pytest.approx(-0.3925, abs=1e-4)  # the value chapter 10 quotes


@pytest.mark.parametrize("alternating", [False, True])
@pytest.mark.parametrize("name, kw", [("nonsaturating", {}), ("r1", {"gamma": 0.7}),
                                      ("lsgan", {})])
def test_update_matrix_is_the_jacobian_of_one_simulated_step(name, kw, alternating):
    obj = losses.get(name, **kw)
    lr, eps = 0.3, 1e-6
    M = theory.gd_update_matrix(dirac.jacobian(obj).numpy(), lr, alternating=alternating)
    columns = []
    for k in range(2):
        e = np.zeros(2)
        e[k] = eps
        step = [dirac.simulate(obj, *(s * e), lr=lr, steps=1, alternating=alternating)[-1]
                for s in (1, -1)]
        columns.append((step[0] - step[1]) / (2 * eps))
    assert np.allclose(np.array(columns).T, M, atol=1e-8)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_unregularised_update_moduli(name):
    J = dirac.jacobian(losses.get(name)).numpy()
    for lr in (0.01, 0.1, 0.5, 1.0, 2.0, 3.9):
        mu = np.abs(np.linalg.eigvals(theory.gd_update_matrix(J, lr)))
        assert np.allclose(mu, math.sqrt(1 + lr**2 / 4), atol=1e-12) and mu.min() > 1
        mu_alt = np.abs(np.linalg.eigvals(theory.gd_update_matrix(J, lr, alternating=True)))
        assert np.allclose(mu_alt, 1.0, atol=1e-12)


def test_unit_modulus_leaves_convergence_to_the_nonlinear_terms():
    # the same Jacobian, |mu| = 1 under alternating descent, and two different outcomes
    h, steps = 0.5, 400
    mm = distance(dirac.simulate(losses.get("minimax"), 1.0, 1.0, lr=h, steps=steps,
                                 alternating=True))
    ns = distance(dirac.simulate(losses.get("nonsaturating"), 1.0, 1.0, lr=h, steps=steps,
                                 alternating=True))
    assert mm[steps // 4:].min() > 1
    assert ns[-1] < 0.25
    for a, b in ((steps // 4, steps // 2), (steps // 2, steps)):  # ~ 1/sqrt(2) per doubling
        assert 0.65 < ns[b] / ns[a] < 0.78


def test_the_outward_spiral_is_local():
    h, steps = 0.5, 400
    ns = losses.get("nonsaturating")
    near = distance(dirac.simulate(ns, 0.01, 0.01, lr=h, steps=steps))
    far = distance(dirac.simulate(ns, 2.0, 2.0, lr=h, steps=steps))
    assert near[-1] > 50 * near[0] and far[-1] < far[0] / 2
    assert abs(near[-100:].mean() - far[-100:].mean()) < 0.02


@pytest.mark.parametrize("gamma", [0.2, 0.5, 0.9])
def test_r1_learning_rate_window(gamma):
    # eq. (r1-lr): below the critical gamma, h < 4 gamma converges locally, h > 4 gamma repels
    J = dirac.jacobian(losses.get("r1", gamma=gamma)).numpy()
    for h, inside in ((0.9 * 4 * gamma, True), (1.1 * 4 * gamma, False)):
        radius = np.abs(np.linalg.eigvals(theory.gd_update_matrix(J, h))).max()
        assert (radius < 1) == inside


def test_infogan_generator_and_q_maximise_the_bound():
    objective = losses.get("infogan", kind="2d")
    G, D = losses.make_models("infogan", "2d")
    z = objective.latent(256, G.z_dim, "cpu")
    fake = G(z)
    loss_g, stats = objective.generator_step(D, None, fake, None, z)
    assert torch.allclose(loss_g, nonsaturating.g_loss(D(fake)) - stats["info"])
    cat, _ = objective.codes(z)
    K = objective.n_categories
    bounds = [infogan.categorical_bound(t * torch.nn.functional.one_hot(cat, K).float(),
                                        cat).item() for t in (0.0, 1.0, 2.0, 4.0, 8.0)]
    terms = [-objective.lambda_cat * b for b in bounds]
    assert abs(bounds[0]) < 1e-6 and bounds[-1] < math.log(K)
    assert all(a < b for a, b in zip(bounds, bounds[1:]))
    assert all(a > b for a, b in zip(terms, terms[1:]))
    # and the gradient of the minimised term raises the true code's logit
    logits = torch.zeros(len(cat), K, requires_grad=True)
    (grad,) = torch.autograd.grad(-objective.lambda_cat * infogan.categorical_bound(logits, cat),
                                  logits)
    assert (grad[torch.arange(len(cat)), cat] < 0).all()
