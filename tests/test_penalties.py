"""Gradient penalties: analytic values on a linear critic, where they are evaluated, and what
they train (the critic only)."""

from functools import partial

import pytest
import torch
from torch import nn

from ganlib import losses, models, penalties
from ganlib.losses import nonsaturating


class LinearCritic(nn.Module):
    """D(x) = <W, x> + b on image-shaped inputs: its input gradient is W everywhere."""

    def __init__(self, W: torch.Tensor):
        super().__init__()
        self.W = nn.Parameter(W.clone())
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x, y=None):
        return (self.W * x).flatten(1).sum(1) + self.b


def batch(n=6):
    return torch.randn(n, 1, 3, 3), torch.randn(n, 1, 3, 3)


# W has entries of different sizes in every axis, so a norm over one axis only would differ
W_BIG = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3) / 10  # ||W|| = sqrt(285)/10 = 1.688
W_SMALL = W_BIG / 4  # ||W|| = 0.422


@pytest.mark.parametrize("W", [W_BIG, W_SMALL])
def test_penalties_equal_their_analytic_value_for_a_linear_critic(W):
    D, (real, fake), norm = LinearCritic(W), batch(), W.norm().item()
    gp = penalties.gradient_penalty(D, real, fake, weight=10.0)
    assert gp.item() == pytest.approx(10 * (norm - 1) ** 2, rel=1e-5)
    one_sided = penalties.gradient_penalty(D, real, fake, weight=10.0, one_sided=True)
    assert one_sided.item() == pytest.approx(10 * max(0.0, norm - 1) ** 2, rel=1e-5, abs=1e-9)
    for perturbation in ("gaussian", "uniform"):
        dr = penalties.dragan(D, real, fake, weight=5.0, k=0.5, perturbation=perturbation)
        assert dr.item() == pytest.approx(5 * (norm - 0.5) ** 2, rel=1e-5)
    assert penalties.r1(D, real, fake, gamma=3.0).item() == pytest.approx(1.5 * norm**2, rel=1e-5)
    assert penalties.r2(D, real, fake, gamma=3.0).item() == pytest.approx(1.5 * norm**2, rel=1e-5)
    none = penalties.r1(D, real, fake, gamma=3.0, reduction="none")
    assert none.shape == (6,) and torch.allclose(none, torch.full((6,), 1.5 * norm**2))


class QuadraticCritic(nn.Module):
    """D(x) = ||x||^2 / 2: its input gradient is x itself, so each penalty's value says at
    which points it was taken (a linear critic's gradient is the same everywhere)."""

    def forward(self, x, y=None):
        return 0.5 * x.flatten(1).pow(2).sum(1)


def test_each_penalty_is_taken_where_its_paper_says():
    D, (real, fake) = QuadraticCritic(), batch()
    fake = 3 * fake  # another scale, so that the two batches' penalties differ
    sq = lambda x: x.flatten(1).pow(2).sum(1)  # noqa: E731 (the squared gradient at x)
    assert penalties.r1(D, real, fake, gamma=3.0).item() == pytest.approx(
        1.5 * sq(real).mean().item(), rel=1e-5)  # R1: on real data
    assert penalties.r2(D, real, fake, gamma=3.0).item() == pytest.approx(
        1.5 * sq(fake).mean().item(), rel=1e-5)  # R2: on generated data
    torch.manual_seed(7)
    x_hat = penalties.interpolates(real, fake)  # WGAN-GP: on the segments between them
    torch.manual_seed(7)
    gp = penalties.gradient_penalty(D, real, fake, weight=10.0)
    norm = penalties.gradient_norm(x_hat.flatten(1))
    assert gp.item() == pytest.approx(10 * (norm - 1).pow(2).mean().item(), rel=1e-5)
    assert gp.item() != pytest.approx(10 * (penalties.gradient_norm(real.flatten(1)) - 1)
                                      .pow(2).mean().item(), rel=1e-3)
    for perturbation in ("gaussian", "uniform"):  # DRAGAN: around real data, fake unused
        torch.manual_seed(7)
        x_tilde = penalties.perturb(real, perturbation, c=0.5)
        expected = 5 * (penalties.gradient_norm(x_tilde.flatten(1)) - 0.5).pow(2).mean()
        for other in (fake, -fake):
            torch.manual_seed(7)
            dr = penalties.dragan(D, real, other, weight=5.0, k=0.5, perturbation=perturbation,
                                  c=0.5)
            assert dr.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("penalty", [
    partial(penalties.gradient_penalty, weight=10.0), partial(penalties.dragan, weight=10.0),
    partial(penalties.r1, gamma=10.0), partial(penalties.r2, gamma=10.0)])
def test_gradients_flow_to_the_critic_only(penalty):
    D = LinearCritic(W_BIG)
    G = nn.Linear(4, 9)
    real = torch.randn(6, 1, 3, 3, requires_grad=True)
    fake = G(torch.randn(6, 4)).reshape(6, 1, 3, 3)  # still attached to G's graph
    penalty(D, real, fake).backward()
    assert G.weight.grad is None and G.bias.grad is None and real.grad is None
    norm = W_BIG.norm()
    if penalty.func in (penalties.r1, penalties.r2):  # d/dW (gamma/2 ||W||^2) = gamma W
        expected = 10.0 * W_BIG
    else:  # d/dW lambda (||W|| - 1)^2 = 2 lambda (||W|| - 1) W / ||W||
        expected = 2 * 10.0 * (norm - 1) * W_BIG / norm
    assert torch.allclose(D.W.grad, expected, rtol=1e-4)
    assert D.b.grad is None  # a constant offset has no input gradient


def test_interpolates_lie_on_per_sample_segments():
    real, fake = batch(200)
    x_hat = penalties.interpolates(real, fake)
    eps = (x_hat - fake).flatten(1) / (real - fake).flatten(1)
    assert torch.allclose(eps, eps[:, :1].expand_as(eps), atol=1e-4)  # one epsilon per sample
    assert 0 <= eps.min() and eps.max() < 1 and eps.std() > 0.2


def test_dragan_perturbations_are_the_paper_s_and_the_code_s():
    real = torch.randn(4000, 3) * 2
    delta = penalties.perturb(real, "gaussian", c=4.0) - real
    assert delta.mean().abs() < 0.1 and delta.var().item() == pytest.approx(4.0, rel=0.05)
    delta = penalties.perturb(real, "uniform") - real  # one-sided, below 0.5 std(x)
    assert delta.min() >= 0 and delta.max() < 0.5 * real.std(correction=0)
    with pytest.raises(ValueError, match="unknown DRAGAN perturbation 'normal'"):
        penalties.perturb(real, "normal")


def test_dragan_objective_trains_the_adversarial_loss_too():
    obj, D = losses.get("dragan"), LinearCritic(W_BIG)
    real, fake = batch()
    loss, stats = obj.discriminator_step(D, real, fake)
    adversarial = nonsaturating.d_loss(D(real), D(fake))
    assert loss.item() == pytest.approx(adversarial.item() + stats["penalty"].item(), rel=1e-5)


@pytest.mark.parametrize("penalty", [penalties.gradient_penalty, penalties.dragan,
                                     penalties.r1, penalties.r2])
def test_every_penalty_refuses_a_critic_with_batchnorm(penalty):
    _, D = models.pair("image")
    real = torch.zeros(2, 1, 28, 28)
    with pytest.raises(ValueError, match="BatchNorm.*batchnorm=False"):
        penalty(D, real, real)
    _, D = losses.make_models("wgan-gp", "image")
    assert torch.isfinite(penalty(D, real, real))


def test_wgan_gp_refuses_a_critic_with_batchnorm():
    _, D = models.pair("image")
    real = torch.zeros(2, 1, 28, 28)
    with pytest.raises(ValueError, match="BatchNorm.*batchnorm=False"):
        losses.get("wgan-gp").discriminator_step(D, real, real)
    _, D = losses.make_models("wgan-gp", "image")
    loss, stats = losses.get("wgan-gp").discriminator_step(D, real, real)
    assert torch.isfinite(loss) and stats["penalty"] >= 0


def test_penalties_need_one_finite_score_per_sample():
    real, fake = batch()
    with pytest.raises(ValueError, match="one score per sample"):
        penalties.r1(lambda x, y=None: x.flatten(1), real)
    with pytest.raises(ValueError, match="NaN or Inf"):
        penalties.r1(lambda x, y=None: x.flatten(1).sum(1) * float("nan"), real)
    with pytest.raises(ValueError, match="same shape to interpolate"):
        penalties.gradient_penalty(LinearCritic(W_BIG), real, fake[:3])


def test_a_penalty_adds_to_any_loss():
    obj = losses.get("hinge", penalty=partial(penalties.r1, gamma=2.0))
    D, (real, fake) = LinearCritic(W_SMALL), batch()
    loss, stats = obj.discriminator_step(D, real, fake)
    assert stats["penalty"].item() == pytest.approx(W_SMALL.norm().item() ** 2, rel=1e-5)
    r2 = losses.get("r1", r2=True, gamma=2.0)
    assert r2.discriminator_step(D, real, fake)[1]["penalty"].item() == pytest.approx(
        W_SMALL.norm().item() ** 2, rel=1e-5)


def test_gradient_norm_is_smooth_at_zero():
    # a flat critic: without the epsilon the norm's derivative at 0 is infinite (NaN grads)
    D = LinearCritic(torch.zeros(1, 1, 3, 3))
    real, fake = batch()
    penalties.gradient_penalty(D, real, fake).backward()
    assert torch.isfinite(D.W.grad).all()


@pytest.mark.parametrize("name", ["wgan-gp", "dragan", "r1"])
def test_fit_refuses_a_batchnorm_critic_for_every_per_sample_penalty(name):
    from ganlib import data, train

    def bn_critic():
        return nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2),
                             nn.Linear(16, 1), nn.Flatten(0))

    G = models.MLPGenerator()
    with pytest.raises(ValueError, match="BatchNorm, which couples the samples"):
        train.fit(G, bn_critic(), losses.get(name), data.ring8(), steps=1, batch_size=8,
                  progress=False)
    G, D = losses.make_models(name, "2d")  # the loss's own networks train
    train.fit(G, D, losses.get(name), data.ring8(), steps=1, batch_size=8, progress=False)
    # a loss without a penalty may keep a BatchNorm discriminator
    train.fit(G, bn_critic(), losses.get("nonsaturating"), data.ring8(), steps=1, batch_size=8,
              progress=False)
