"""The Dirac-GAN (Mescheder, Geiger and Nowozin 2018) for every loss it applies to: the Jacobian
of the library's own gradient field at the equilibrium (theta, psi) = (0, 0), and simulated
trajectories, against what the paper derives.

The paper's sections: 2.2 (unregularised GAN: eigenvalues +-f'(0)i, no convergence), 3.1
(WGAN and WGAN-GP: not locally convergent), 3.2 (instance noise: convergent), 3.3 and 4.1
(zero-centred gradient penalties, R1 and R2: convergent). Losses the paper does not treat
(hinge, relativistic, LSGAN, DRAGAN) are checked against the same linearisation done by hand,
as noted at each test.
"""

import numpy as np
import pytest
import torch

from ganlib import dirac, losses, theory


def radius(path: np.ndarray) -> np.ndarray:
    return np.hypot(path[:, 0], path[:, 1])


@pytest.mark.parametrize("name, kw, f1", [
    ("minimax", {}, 0.5), ("nonsaturating", {}, 0.5),  # section 2.2: +-f'(0) i, f'(0) = 1/2
    # not in the paper; linearised by hand near (0, 0), where the hinge's margins are inactive
    # and the relativistic averages reduce to the single fake score psi * theta:
    ("hinge", {}, 1.0), ("ragan", {}, 1.0), ("ragan", {"form": "ls"}, 4.0),
    ("wgan", {"clip": 1.0}, 1.0),  # section 3.1, with the Dirac critic's constraint |psi| <= 1
])
def test_unregularised_losses_have_purely_imaginary_eigenvalues(name, kw, f1):
    obj = losses.get(name, **kw)
    eig = dirac.eigenvalues(obj)
    assert np.allclose(eig, theory.dirac_eigenvalues(f1=f1), atol=1e-9)
    assert np.allclose(eig.real, 0.0, atol=1e-12) and np.allclose(sorted(eig.imag), [-f1, f1])
    # started next to the equilibrium, simultaneous gradient descent spirals away from it
    r = radius(dirac.simulate(obj, 0.1, 0.0, lr=0.2, steps=300))
    assert r.min() > 0.9 * r[0] and r[-1] > 1.5 * r[0]


def test_lsgan_dirac_field_is_degenerate():
    # Not in the paper. D(x) = psi x scores the real point 0 as 0 whatever psi is, so the
    # real-data term of LSGAN is constant: in both codings the Jacobian at (0, 0) is
    # nilpotent (eigenvalues 0, 0), so the equilibrium is not asymptotically stable.
    for coding in ("pearson", "0-1-1"):
        J = dirac.jacobian(losses.get("lsgan", coding=coding)).numpy()
        assert np.allclose(np.linalg.eigvals(J), 0.0) and np.abs(J).max() == pytest.approx(1.0)


@pytest.mark.parametrize("gamma", [0.3, 1.0, 10.0])
@pytest.mark.parametrize("r2", [False, True])
def test_zero_centred_penalties_give_eigenvalues_with_negative_real_part(gamma, r2):
    # sections 3.3 and 4.1: -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), with the non-saturating f
    eig = dirac.eigenvalues(losses.get("r1", gamma=gamma, r2=r2))
    assert np.allclose(np.sort_complex(eig), np.sort_complex(theory.dirac_eigenvalues(
        gamma=gamma)), atol=1e-9)
    assert eig.real.max() < 0


@pytest.mark.parametrize("r2", [False, True])
def test_zero_centred_penalties_converge(r2):
    path = dirac.simulate(losses.get("r1", gamma=1.0, r2=r2), 1.0, 1.0, lr=0.2, steps=200)
    assert radius(path)[-1] < 1e-6


def test_instance_noise_gives_eigenvalues_with_negative_real_part_and_converges():
    # section 3.2: f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2), f''(0) = -1/4; the
    # field is random, so its Jacobian is averaged over a large batch of noise draws
    obj = losses.get("nonsaturating", instance_noise=1.0)
    eig = dirac.eigenvalues(obj, batch=20_000)
    expected = theory.dirac_eigenvalues(f2=-0.25, sigma=1.0)
    assert np.allclose(np.sort_complex(eig), np.sort_complex(expected), atol=0.02)
    assert dirac.eigenvalues(obj).real.max() < 0  # even a single noise draw damps psi
    path = dirac.simulate(obj, 1.0, 1.0, lr=0.2, steps=400, batch=256)
    assert radius(path)[-100:].max() < 0.1 * radius(path)[0]


def test_wgan_with_clipping_does_not_converge():
    # section 3.1: WGAN with a finite number of critic steps is not locally convergent. With
    # the paper's clipping to [-0.01, 0.01] the pair keeps circling the equilibrium instead.
    path = dirac.simulate(losses.get("wgan"), 0.1, 0.0, lr=0.1, steps=500)
    assert np.abs(path[:, 1]).max() <= 0.01 + 1e-12
    assert radius(path)[-200:].min() > 0.005


@pytest.mark.parametrize("name", ["wgan-gp", "dragan"])
def test_penalties_centred_at_one_are_not_locally_convergent(name):
    # section 3.1 (WGAN-GP); DRAGAN's penalty, around the real point, has the same form in the
    # Dirac-GAN (not in the paper). The penalty (|psi| - 1)^2 pulls the critic's slope towards
    # +-1 instead of 0: psi = 0 is a maximum of the penalty, so the Jacobian has an eigenvalue
    # with positive real part (large: the norm is smoothed only by the epsilon under the
    # square root), and the generator, driven by a non-zero slope, runs away from theta = 0.
    obj = losses.get(name)
    assert dirac.eigenvalues(obj).real.max() > 1.0
    path = dirac.simulate(obj, 0.5, 0.5, lr=0.02, steps=300)
    assert radius(path)[-100:].min() > 2 * radius(path)[0]
    assert np.abs(path[-100:, 1]).mean() > 0.5


def test_dirac_batch_changes_nothing_for_deterministic_losses():
    obj = losses.get("hinge")
    one = dirac.vector_field(obj, torch.tensor(0.3), torch.tensor(-0.7))
    many = dirac.vector_field(obj, torch.tensor(0.3), torch.tensor(-0.7), batch=16)
    assert all(torch.allclose(a, b) for a, b in zip(one, many))
