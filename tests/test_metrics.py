"""Metrics on hand-made points, where their values are known exactly; where instance noise
reaches; the networks' initialisation."""

import pytest
import torch

from ganlib import metrics, models
from ganlib.feature_metrics import knn_radii, precision_recall
from ganlib.losses import nonsaturating
from ganlib.objective import Objective


def test_w2_of_a_translated_cloud_is_the_translation_and_of_a_permutation_zero():
    x = torch.randn(60, 2, generator=torch.Generator().manual_seed(0))
    v = torch.tensor([0.3, -0.4])  # |v| = 0.5
    assert metrics.wasserstein2(x, x + v) == pytest.approx(0.5, rel=1e-6)
    assert metrics.wasserstein2(x, x[torch.randperm(60)]) == pytest.approx(0.0, abs=1e-7)
    two = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # each point moved by 1 or 3: sqrt((1 + 9) / 2)
    assert metrics.wasserstein2(two, torch.tensor([[1.0, 0.0], [4.0, 0.0]])) == pytest.approx(
        5 ** 0.5)


def test_knn_radii_are_distances_to_the_kth_other_point():
    line = torch.arange(6.0)[:, None]  # points 0, 1, ..., 5 on a line
    assert knn_radii(line, k=1).tolist() == [1.0] * 6
    assert knn_radii(line, k=2).tolist() == [2.0, 1.0, 1.0, 1.0, 1.0, 2.0]
    assert knn_radii(line, k=3).tolist() == [3.0, 2.0, 2.0, 2.0, 2.0, 3.0]


def test_precision_and_recall_on_known_sets():
    real = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    far = real + 100.0
    assert precision_recall(real, far) == (0.0, 0.0)
    # half the generated points on the data, half far away: precision 1/2; recall counts the
    # half of the data they sit on, and whatever of the rest falls inside their k-NN balls
    half = torch.cat([real[:100], far[100:]])
    precision, recall = precision_recall(real, half)
    assert precision == 0.5 and 0.5 <= recall < 1.0


def test_instance_noise_reaches_the_scores_but_not_the_penalty():
    seen = {}

    def penalty(D, real, fake, y):
        seen["real"], seen["fake"] = real, fake
        return torch.zeros(())

    obj = Objective("noisy", nonsaturating.d_loss, nonsaturating.g_loss, penalty=penalty,
                    instance_noise=0.5)
    D = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    torch.manual_seed(0)
    loss, _ = obj.discriminator_step(D, real, fake)
    assert seen["real"] is real and seen["fake"] is fake  # the penalty: the inputs as given
    clean = nonsaturating.d_loss(D(real), D(fake))
    assert loss.item() != pytest.approx(clean.item(), rel=1e-3)  # the scores: noisy inputs


def test_init_weights_draws_dcgan_s_initialisation():
    net = torch.nn.Sequential(torch.nn.Linear(400, 300), torch.nn.BatchNorm1d(300),
                              torch.nn.Conv2d(8, 16, 3))
    torch.manual_seed(0)
    models.init_weights(net)
    linear, bn, conv = net
    assert linear.weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert abs(linear.weight.mean().item()) < 1e-3
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=2e-3)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(not b.detach().any() for b in (linear.bias, bn.bias, conv.bias))
