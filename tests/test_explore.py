"""ganlib.explore (cost curves, layer gradients, verdicts) and the discriminator add-ons of
ganlib.models (spectral_norm, MinibatchStd, minibatch_std) used by chapters 13 and 14."""

import numpy as np
import pytest
import torch
from torch import nn

from ganlib import data, explore, losses, models


def test_cost_curves_match_the_closed_forms():
    curves, skipped = explore.cost_curves(n=101)
    assert set(curves) | set(skipped) == set(losses.names())
    assert {"ebgan", "began", "acgan", "infogan", "ragan"} <= set(skipped)
    s = torch.from_numpy(curves["minimax"].score)
    assert np.allclose(curves["minimax"].slope, -torch.sigmoid(s).numpy(), atol=1e-12)
    assert np.allclose(curves["nonsaturating"].slope, -torch.sigmoid(-s).numpy(), atol=1e-12)
    assert np.allclose(curves["lsgan"].slope, s.numpy() - 1.0, atol=1e-12)
    assert np.allclose(curves["hinge"].slope, -1.0)
    assert np.allclose(curves["minimax"].cost, np.log1p(-torch.sigmoid(s).numpy()), atol=1e-12)
    assert curves["r1"].sigmoid and not curves["wgan"].sigmoid


def test_same_curves_groups_losses_sharing_a_generator_cost():
    curves, _ = explore.cost_curves(n=51)
    groups = {frozenset(g) for g in explore.same_curves(curves)}
    assert frozenset({"wgan", "wgan-gp", "hinge"}) in groups
    assert frozenset({"nonsaturating", "dragan", "cgan", "r1"}) in groups


def test_cost_curve_refuses_losses_that_read_more_than_the_fake_score():
    with pytest.raises(ValueError, match="real data"):
        explore.cost_curve(losses.get("ragan"))


def test_layer_grad_norms_one_per_linear_layer_and_nothing_updated():
    torch.manual_seed(0)
    G, D = models.pair("2d")
    before = [p.clone() for p in G.parameters()]
    out = explore.layer_grad_norms(G, D, losses.get("nonsaturating"), data.ring8(), batch=32)
    assert len(out["G"]) == 4 and len(out["D"]) == 4
    assert all(v > 0 for v in out["G"] + out["D"])
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))
    assert all(p.grad is None for p in G.parameters())


def test_sigmoid_layers_starve_the_first_layer():
    ratios = {}
    for act in (nn.ReLU, nn.Sigmoid):
        torch.manual_seed(0)
        G = models.MLPGenerator(layers=8, activation=act)
        D = models.MLPDiscriminator(layers=8, activation=act)
        g = explore.layer_grad_norms(G, D, losses.get("nonsaturating"), data.ring8())["G"]
        ratios[act] = g[0] / g[-1]
    assert ratios[nn.Sigmoid] < 1e-3 * ratios[nn.ReLU]


def test_minibatch_std_by_hand():
    torch.manual_seed(0)
    x = torch.randn(8, 3)
    out = models.MinibatchStd(4)(x)
    assert torch.equal(out[:, :3], x)
    for i in range(8):
        group = x[i % 2::2]
        assert torch.allclose(out[i, 3], (group.var(0, unbiased=False) + 1e-8).sqrt().mean())
    assert models.MinibatchStd(4)(torch.randn(6, 3)).shape == (6, 4)  # one group of 6
    assert models.MinibatchStd(4)(torch.randn(8, 2, 5, 5)).shape == (8, 3, 5, 5)


def test_minibatch_std_head_and_spectral_norm():
    torch.manual_seed(0)
    D = models.minibatch_std(models.MLPDiscriminator())
    assert D(torch.randn(16, 2)).shape == (16,)
    with pytest.raises(ValueError):
        models.minibatch_std(nn.Linear(2, 1))
    D = models.spectral_norm(models.MLPDiscriminator())
    with torch.no_grad():
        for _ in range(30):
            D(torch.randn(16, 2))
    sv = [torch.linalg.matrix_norm(m.weight, ord=2).item() for m in D.modules()
          if isinstance(m, nn.Linear)]
    assert len(sv) == 4 and all(abs(s - 1) < 0.05 for s in sv)
    with pytest.raises(ValueError):
        models.spectral_norm(nn.ReLU())
