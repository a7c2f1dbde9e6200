"""The closed forms each chapter derives, checked against the library's own losses."""

import math

import pytest
import torch
from torch import nn

from ganlib import losses, theory
from ganlib.losses import began, infogan, lsgan, minimax, nonsaturating


@pytest.fixture(scope="module")
def densities():
    # p_g wider than p_r: D* stays inside (0, 1) in float64 and p_r^2 / p_g is integrable
    x = theory.grid(-12, 12, 48_001)
    return x, theory.gaussian_pdf(x, 0.0, 1.0), theory.gaussian_pdf(x, 1.5, 1.3)


def test_minimax_value_at_the_optimal_discriminator_is_minus_log4_plus_2jsd(densities):
    # V(D*, G) = E_r log D* + E_g log(1 - D*), each term computed by a library loss:
    # -log D = nonsaturating.g_loss(logit), log(1 - D) = minimax.g_loss(logit)
    x, p_r, p_g = densities
    logit = torch.log(p_r) - torch.log(p_g)
    v = theory.integrate(-p_r * nonsaturating.g_loss(logit, reduction="none")
                         + p_g * minimax.g_loss(logit, reduction="none"), x)
    assert v == pytest.approx(-math.log(4) + 2 * theory.jsd(p_r, p_g, x), abs=1e-8)


def _lsgan_d_objective(D, p_r, p_g, x, a, b):
    """E_r[1/2 (D - b)^2] + E_g[1/2 (D - a)^2], each half from lsgan.d_loss."""
    real_half = lsgan.d_loss(D, torch.full_like(D, a), a, b, reduction="none")
    fake_half = lsgan.d_loss(torch.full_like(D, b), D, a, b, reduction="none")
    return theory.integrate(p_r * real_half + p_g * fake_half, x)


def test_lsgan_optimal_discriminator_minimises_its_loss(densities):
    x, p_r, p_g = densities
    a, b, _ = lsgan.CODINGS["pearson"]
    d_star = theory.lsgan_optimal_discriminator(p_r, p_g, a, b)
    best = _lsgan_d_objective(d_star, p_r, p_g, x, a, b)
    for eps in (0.05, -0.05):
        assert _lsgan_d_objective(d_star + eps * torch.cos(x), p_r, p_g, x, a, b) > best


def test_lsgan_generator_objective_is_half_pearson_chi2(densities):
    # Mao et al. 2017, section 3.2.2 (Theorem 1): with b - c = 1 and b - a = 2, at D*,
    # 1/2 E_r[(D* - c)^2] + 1/2 E_g[(D* - c)^2] = 1/2 chi2_Pearson(p_r + p_g || 2 p_g), where
    # the paper's chi2 is int (2 p_g - (p_r + p_g))^2 / (p_r + p_g): its first argument is in
    # the denominator, so in the f-divergence convention of theory.pearson_chi2 the arguments
    # swap.
    x, p_r, p_g = densities
    a, b, c = lsgan.CODINGS["pearson"]
    d_star = theory.lsgan_optimal_discriminator(p_r, p_g, a, b)
    value = theory.integrate((p_r + p_g) * lsgan.g_loss(d_star, c, reduction="none"), x)
    chi2 = theory.pearson_chi2(2 * p_g, p_r + p_g, x)
    assert chi2 > 0.1 and value == pytest.approx(0.5 * chi2, rel=1e-8)
    # and the identity needs the Pearson coding: with 0-1-1 it fails
    a, b, c = lsgan.CODINGS["0-1-1"]
    d01 = theory.lsgan_optimal_discriminator(p_r, p_g, a, b)
    other = theory.integrate((p_r + p_g) * lsgan.g_loss(d01, c, reduction="none"), x)
    assert other != pytest.approx(0.5 * chi2, rel=1e-3)


class PiecewiseLinearCritic(nn.Module):
    """f(x) = sum_i s_i * |[knot_i, knot_{i+1}] cap (-inf, x]|: 1-Lipschitz iff all |s_i| <= 1,
    which WGAN's weight clipping to [-1, 1] enforces exactly."""

    def __init__(self, lo: float, hi: float, n: int = 100):
        super().__init__()
        self.register_buffer("knots", torch.linspace(lo, hi, n + 1, dtype=torch.float64))
        self.slopes = nn.Parameter(torch.zeros(n, dtype=torch.float64))

    def forward(self, x, y=None):
        width = self.knots[1:] - self.knots[:-1]
        covered = torch.minimum((x[:, None] - self.knots[:-1]).clamp(min=0), width)
        return covered @ self.slopes


def test_wgan_critic_reaches_the_kantorovich_rubinstein_value():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(500, generator=g, dtype=torch.float64)
    fake = 1.0 + 2.0 * torch.randn(500, generator=g, dtype=torch.float64)
    w1 = theory.wasserstein1(real, fake)  # POT, exact for the two empirical distributions
    obj = losses.get("wgan", clip=1.0, lr=0.01)  # clipping to [-1, 1]: exactly 1-Lipschitz
    both = torch.cat([real, fake])
    f = PiecewiseLinearCritic(both.min().item(), both.max().item())
    opt = obj.make_optimizer(f.parameters())
    for _ in range(100):
        loss, _ = obj.discriminator_step(f, real, fake)
        opt.zero_grad()
        loss.backward()
        opt.step()
        obj.after_discriminator_step(f)
    assert f.slopes.abs().max() <= 1.0
    with torch.no_grad():
        kr = (f(real).mean() - f(fake).mean()).item()  # E_r f - E_g f <= W1 for 1-Lipschitz f
    assert kr == pytest.approx(w1, rel=0.05) and kr <= w1 + 1e-9


def test_began_k_stays_in_0_1_and_follows_the_balance():
    obj = losses.get("began", gamma=0.5, lambda_k=0.1)
    obj.k.fill_(0.5)
    steps = [(1.0, 0.2, +1), (1.0, 0.9, -1), (0.4, 0.2, 0)]  # (L(x), L(G(z)), sign of move)
    for l_real, l_fake, sign in steps:
        before = float(obj.k)
        stats = {"d_real": torch.tensor(l_real)}
        obj.after_generator_step(torch.tensor(0.0), torch.tensor(l_fake), stats)
        move = float(obj.k) - before
        assert move == pytest.approx(0.1 * (0.5 * l_real - l_fake))
        assert (move > 0) - (move < 0) == sign
        assert float(stats["k"]) == float(obj.k)
        assert float(stats["m_global"]) == pytest.approx(l_real + abs(0.5 * l_real - l_fake))
    for l_fake, bound in ((-100.0, 1.0), (100.0, 0.0)):  # clipped to [0, 1]
        obj.after_generator_step(torch.tensor(0.0), torch.tensor(l_fake),
                                 {"d_real": torch.tensor(0.0)})
        assert float(obj.k) == bound
    k = began.update_k(torch.tensor(0.0), torch.tensor([2.0]), torch.tensor([0.5]), 0.5, 1.0)
    assert float(k) == pytest.approx(0.5)


@pytest.mark.parametrize("K", [2, 10])
def test_infogan_categorical_bound_is_at_most_log_k_and_reached_by_a_perfect_q(K):
    codes = torch.arange(64) % K
    random = infogan.categorical_bound(torch.randn(64, K) * 3, codes, reduction="none")
    assert (random <= math.log(K)).all()
    perfect = infogan.categorical_bound(60.0 * torch.eye(K)[codes], codes)
    assert perfect.item() == pytest.approx(math.log(K), abs=1e-6)
    uniform = infogan.categorical_bound(torch.zeros(64, K), codes)  # Q knows nothing: 0 bits
    assert uniform.item() == pytest.approx(0.0, abs=1e-6)


def test_infogan_continuous_bound_is_largest_at_the_code():
    codes = torch.rand(32, 2) * 2 - 1
    best = infogan.continuous_bound(codes, codes, reduction="none")
    assert torch.allclose(best, torch.full((32,), 2 * (math.log(2) - 0.5 * math.log(2 * math.pi))))
    assert (infogan.continuous_bound(codes + 0.3, codes, reduction="none") < best).all()


def test_infogan_information_trains_g_and_q():
    obj = losses.get("infogan")
    G, D = losses.make_models("infogan", "2d")
    z = obj.latent(16, G.z_dim, "cpu")
    D.requires_grad_(False)  # as in fit's generator step
    loss, stats = obj.generator_step(D, None, G(z), None, z)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in obj.q.parameters())
    assert stats["info"] <= math.log(8)  # lambda_cont * continuous part is <= 0 here
    # the step is the non-saturating loss minus the weighted bound, computed by hand here
    with torch.no_grad():
        h = D.features(G(z))
        q = obj.q(h)
        cat = z[:, 2:10].argmax(1)  # 2 noise dims, then the one-hot code, then the continuous
        cat_bound = math.log(8) - torch.nn.functional.cross_entropy(q[:, :8], cat)
        cont_bound = (math.log(2) - 0.5 * math.log(2 * math.pi)
                      - 0.5 * (z[:, 10:] - q[:, 8:]).pow(2)).sum(1).mean()
        info = 1.0 * cat_bound + 0.1 * cont_bound  # lambda_cat, lambda_cont
        ns = torch.nn.functional.softplus(-D.head(h).squeeze(1)).mean()
    assert stats["info"].item() == pytest.approx(info.item(), rel=1e-5)
    assert loss.item() == pytest.approx((ns - info).item(), rel=1e-5)
    # descending the loss raises the bound: one small step of Q alone
    with torch.no_grad():
        for p in obj.q.parameters():
            p -= 0.01 * p.grad
    after = obj.generator_step(D, None, G(z), None, z)[1]["info"]
    assert after > stats["info"]
