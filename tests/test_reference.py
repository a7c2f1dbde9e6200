"""The optimised training step against the plain loop written out by hand: the same seed gives
the same numbers up to float rounding (fused Adam, one discriminator pass over real and fake
together), and the one-pass shortcut is taken only where it cannot change a result."""

import numpy as np
import pytest
import torch
from torch import nn

from ganlib import data, losses, models, train
from ganlib.losses import validation


def plain_loop(name: str, seed: int, steps: int, batch: int):
    """fit's algorithm in its plainest form: per-tensor Adam, D called on real and on fake
    separately, the penalty added, random draws in fit's order."""
    objective = losses.get(name)
    torch.manual_seed(seed)
    G, D = losses.make_models(name, "2d")
    torch.manual_seed(seed)
    mixture = data.ring8()
    opt_d = torch.optim.Adam(D.parameters(), lr=objective.lr, betas=objective.betas,
                             foreach=False)
    opt_g = torch.optim.Adam(G.parameters(), lr=objective.lr, betas=objective.betas,
                             foreach=False)
    d_losses, g_losses = [], []
    with validation(False):
        for _ in range(steps):
            for _ in range(objective.n_critic):
                real, _ = mixture.sample(batch)
                z = torch.randn(batch, G.z_dim)
                with torch.no_grad():
                    fake = G(z)
                loss_d = objective.d_loss(D(real), D(fake))
                if objective.penalty is not None:
                    loss_d = loss_d + objective.penalty(D, real, fake, None)
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
            z = torch.randn(batch, G.z_dim)
            loss_g = objective.g_loss(D(G(z)), None)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            d_losses.append(loss_d.item())
            g_losses.append(loss_g.item())
    return G, D, np.array(d_losses), np.array(g_losses)


@pytest.mark.parametrize("name", ["nonsaturating", "wgan-gp"])
def test_fit_gives_the_plain_loops_numbers(name):
    steps, batch, seed = 6, 128, 3
    G0, D0, d_ref, g_ref = plain_loop(name, seed, steps, batch)
    torch.manual_seed(seed)
    G, D = losses.make_models(name, "2d")
    h = train.fit(G, D, losses.get(name), data.ring8(), steps=steps, batch_size=batch,
                  seed=seed, log_every=steps, progress=False)
    # Float rounding only. WGAN-GP's Adam has beta1 = 0, so a gradient component near zero
    # whose rounding flips sign moves its weight a full step the other way: after 30 critic
    # steps its losses move by up to 5e-4. Another seed, a wrong draw or update moves them
    # by 0.05 to 0.5.
    tol = {"rtol": 1e-4, "atol": 1e-5} if name == "nonsaturating" else {"rtol": 0, "atol": 2e-3}
    np.testing.assert_allclose(h["d_loss"], d_ref, **tol)
    np.testing.assert_allclose(h["g_loss"], g_ref, **tol)
    for a, b in zip([*G.parameters(), *D.parameters()], [*G0.parameters(), *D0.parameters()]):
        torch.testing.assert_close(a, b, **tol)


def test_one_pass_scores_equal_two_passes_where_samples_are_independent():
    torch.manual_seed(0)
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    objective = losses.get("nonsaturating")
    D = models.MLPDiscriminator()
    assert models.per_sample(D)
    loss, stats = objective.discriminator_step(D, real, fake)
    two = objective.d_loss(D(real), D(fake))
    torch.testing.assert_close(loss, two)
    torch.testing.assert_close(stats["d_real"], D(real).mean())
    # the image critic without BatchNorm is per sample, with BatchNorm it is not
    assert models.per_sample(models.ConvDiscriminator(batchnorm=False))
    assert not models.per_sample(models.ConvDiscriminator())


@pytest.mark.parametrize("change", ["spectral_norm", "minibatch_std", "hook"])
def test_discriminators_that_couple_samples_or_keep_state_get_two_passes(change):
    """Spectral norm's power iteration runs once per pass, minibatch std mixes a batch: one
    pass over real and fake together would change what they compute."""
    torch.manual_seed(0)
    D = models.MLPDiscriminator()
    if change == "spectral_norm":
        models.spectral_norm(D)
    elif change == "minibatch_std":
        models.minibatch_std(D)
    else:
        D.features.register_forward_hook(lambda m, i, o: None)
    assert not models.per_sample(D)
    calls = []
    D.register_forward_pre_hook(lambda m, args: calls.append(len(args[0])))
    losses.get("nonsaturating").discriminator_step(D, torch.randn(32, 2), torch.randn(32, 2))
    assert calls == [32, 32]


def test_instance_noise_is_drawn_as_two_passes_draw_it():
    objective = losses.get("lsgan", instance_noise=0.1)
    D = models.MLPDiscriminator()
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    torch.manual_seed(5)
    one, _ = objective.discriminator_step(D, real, fake)
    torch.manual_seed(5)
    two = objective.d_loss(objective.scores(D, real, None), objective.scores(D, fake, None))
    torch.testing.assert_close(one, two)


def test_cpu_optimisers_are_the_fast_kinds_and_match_the_plain_ones():
    params = [nn.Parameter(torch.randn(5, 3)) for _ in range(2)]
    for name, plain in (("nonsaturating", {"foreach": False}), ("wgan", {"foreach": False})):
        a = [nn.Parameter(p.detach().clone()) for p in params]
        b = [nn.Parameter(p.detach().clone()) for p in params]
        fast = losses.get(name).make_optimizer(a)
        kind = "fused" if isinstance(fast, torch.optim.Adam) else "foreach"
        assert fast.defaults[kind], name
        slow = type(fast)(b, **{**fast.defaults, kind: None, **plain})
        for step in range(5):
            for x, y in zip(a, b):
                x.grad = y.grad = torch.full_like(x, 0.1 * (step - 2)) + x.detach() ** 2
            fast.step()
            slow.step()
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["nonsaturating", "ebgan"])
def test_channels_last_weights_give_the_same_numbers_and_are_the_cpu_default(name):
    g = torch.Generator().manual_seed(0)
    images = data.Images(torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (64,), generator=g))
    runs = {}
    for layout in (None, False):  # None: the default, channels-last on a CPU
        torch.manual_seed(1)
        G, D = losses.make_models(name, "image-small")
        h = train.fit(G, D, losses.get(name), images, steps=4, batch_size=16, seed=1,
                      log_every=1, progress=False, channels_last=layout, n_fixed=4)
        runs[layout] = G, D, h
    G, D, h = runs[None]
    assert any(p.dim() == 4 and not p.is_contiguous()
               and p.is_contiguous(memory_format=torch.channels_last) for p in D.parameters())
    G0, D0, h0 = runs[False]
    assert all(p.is_contiguous() for p in [*G0.parameters(), *D0.parameters()])
    # Float rounding only (oneDNN sums in another order); another seed moves the losses by
    # 0.1. The trained networks compute the same functions up to what 4 Adam steps make of
    # rounding (a weight whose gradient is rounding noise, like a bias just before BatchNorm,
    # moves by a learning rate either way): 8e-4 at most here, where another seed gives
    # other networks (differences of 0.1 to 1). In training mode, as trained.
    np.testing.assert_allclose(h["d_loss"], h0["d_loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h["g_loss"], h0["g_loss"], rtol=1e-4, atol=1e-5)
    z = torch.randn(16, G.z_dim, generator=g)
    x = images.sample(16)[0]
    with torch.no_grad():
        torch.testing.assert_close(G(z), G0(z), rtol=0, atol=2e-3)
        torch.testing.assert_close(D(x), D0(x), rtol=0, atol=2e-3)
