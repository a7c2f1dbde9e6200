"""The Fashion-MNIST evaluator: shipped weights, the Frechet distance, and the image metrics
behaving as they should on real images made worse in known ways.

The reference statistics are cached per process, so the tests after the first pay only for
their own samples; the monotonicity checks use 2,000-image subsets of the test split.
"""

import json
import sys
import types

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from ganlib import data, evaluator

N = 2_000


@pytest.fixture(scope="module")
def test_set():
    return data.fashion_mnist("test")


def subset(images: data.Images, n: int = N, classes=range(10), seed: int = 0) -> torch.Tensor:
    keep = torch.isin(images.labels, torch.tensor(list(classes))).nonzero().squeeze(1)
    pick = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(seed))[:n]]
    return data.to_signed_unit(images.images[pick])


def add_noise(x: torch.Tensor, std: float) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    return (x + std * noise).clamp(-1, 1)


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma == 0:
        return x
    t = torch.arange(-3, 4, dtype=torch.float32)
    g = torch.exp(-t**2 / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :])[None, None]
    return F.conv2d(F.pad(x, (3, 3, 3, 3), mode="replicate"), kernel)


def test_shipped_weights_are_small_and_match_their_card():
    card = json.loads(evaluator.card_path(evaluator.WEIGHTS).read_text())
    assert evaluator.WEIGHTS.stat().st_size == card["bytes"] <= 2 * 1024 * 1024
    assert evaluator.sha256(evaluator.WEIGHTS) == card["sha256"]
    assert card["test_accuracy"] >= 91.0
    assert card["recipe"]["seed"] == evaluator.RECIPE["seed"]


def test_inference_model_computes_the_trained_function(test_set):
    plain = evaluator.Classifier().eval()
    plain.load_state_dict(torch.load(evaluator.WEIGHTS, weights_only=True))
    x = data.to_signed_unit(test_set.images[:500])
    fast = evaluator.load()  # BatchNorm folded, pooling before ReLU, channels-last
    with torch.inference_mode():
        torch.testing.assert_close(fast.features(x), plain.features(x), atol=1e-4, rtol=1e-4)
        assert (fast(x).argmax(1) == test_set.labels[:500]).float().mean() > 0.9


def test_corrupt_weights_are_a_clear_error(tmp_path):
    bad = tmp_path / "evaluator_weights.pt"
    raw = bytearray(evaluator.WEIGHTS.read_bytes())
    raw[-100] ^= 0xFF
    bad.write_bytes(bytes(raw))
    evaluator.card_path(bad).write_text(evaluator.card_path(evaluator.WEIGHTS).read_text())
    with pytest.raises(ValueError, match="sha256.*make evaluator"):
        evaluator.load("cpu", str(bad))
    with pytest.raises(FileNotFoundError, match="make evaluator"):
        evaluator.load("cpu", str(tmp_path / "missing.pt"))


def scipy_frechet(mu1, cov1, mu2, cov2) -> float:
    root = scipy.linalg.sqrtm(cov1 @ cov2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1 + cov2 - 2 * root))


def test_frechet_distance_matches_scipy_on_known_gaussians():
    rng = np.random.default_rng(0)
    d = 32
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    cov1, cov2 = a @ a.T / d + 0.1 * np.eye(d), b @ b.T / d + 0.1 * np.eye(d)
    fd = evaluator.frechet_distance(mu1, cov1, mu2, cov2)
    assert fd == pytest.approx(scipy_frechet(mu1, cov1, mu2, cov2), rel=1e-8)
    assert evaluator.frechet_distance(mu1, cov1, mu1, cov1) == pytest.approx(0, abs=1e-8)
    # commuting (diagonal) covariances: sum of (sqrt(a) - sqrt(b))^2 plus the mean term
    va, vb = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(va) - np.sqrt(vb)) ** 2)
    assert evaluator.frechet_distance(mu1, np.diag(va), mu2, np.diag(vb)) == pytest.approx(closed)
    # fitted to samples of the two Gaussians, it approaches the exact value
    gen = torch.Generator().manual_seed(0)
    draw = lambda mu, cov, n: (torch.as_tensor(mu) + torch.randn(n, d, generator=gen,
                               dtype=torch.float64) @ torch.as_tensor(np.linalg.cholesky(cov)).T)
    fitted = evaluator.frechet_distance(*evaluator.gaussian_fit(draw(mu1, cov1, 50_000)),
                                        *evaluator.gaussian_fit(draw(mu2, cov2, 50_000)))
    assert fitted == pytest.approx(fd, rel=0.02)


def test_real_test_split_scores_its_own_floor(test_set):
    m = evaluator.evaluate(test_set.images)
    assert m.n == m.floor.n == 10_000
    assert m.fd == pytest.approx(m.floor.fd, rel=1e-5) and m.fd < 5
    assert m.precision == pytest.approx(m.floor.precision, abs=1e-4) and m.precision > 0.7
    assert m.recall == pytest.approx(m.floor.recall, abs=1e-4) and m.recall > 0.7
    assert m.class_coverage == m.floor.class_coverage == 1.0
    assert m.class_kl == pytest.approx(m.floor.class_kl) and m.class_kl < 0.01
    assert m.confidence == pytest.approx(m.floor.confidence) and m.confidence > 0.8
    assert "| FD (classifier features) |" in m.table() and "real-vs-real floor" in m.table()
    assert m.as_dict()["floor"]["fd"] == m.floor.fd and m._repr_markdown_() == m.table()


@pytest.mark.parametrize(("corrupt", "levels"), [(add_noise, (0.0, 0.1, 0.25, 0.5)),
                                                 (blur, (0.0, 0.6, 1.0, 1.6))])
def test_fd_grows_as_real_images_are_corrupted(test_set, corrupt, levels):
    x = subset(test_set)
    fds = [evaluator.evaluate(corrupt(x, level)).fd for level in levels]
    assert all(a < b for a, b in zip(fds, fds[1:])), fds


def test_dropping_half_the_classes_costs_recall_and_coverage_not_precision(test_set):
    full = evaluator.evaluate(subset(test_set))
    half = evaluator.evaluate(subset(test_set, classes=range(5)))
    assert half.recall < full.recall - 0.2
    # five classes drawn; tops among them that the classifier calls "Shirt" (class 6) can
    # make a sixth count as covered (it needs only 2% of the predictions)
    assert half.class_coverage <= 0.6 < full.class_coverage == 1.0
    assert half.class_kl > full.class_kl + 0.5  # log 2 for an exact half
    assert half.precision >= full.precision - 0.02


def test_noise_costs_precision(test_set):
    x = subset(test_set)
    clean, noisy = evaluator.evaluate(x), evaluator.evaluate(add_noise(x, 0.25))
    assert noisy.precision < clean.precision - 0.1


class Recorder(nn.Module):
    """A stand-in generator: real test images, indexed by z, labels and batch sizes logged."""

    def __init__(self, images: torch.Tensor, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes = 4, n_classes
        self.register_buffer("images", images)
        self.scale = nn.Parameter(torch.ones(()))
        self.batches, self.labels, self.modes = [], [], []

    def forward(self, z, y=None):
        self.batches.append(len(z))
        self.modes.append(self.training)
        if y is not None:
            self.labels.append(y)
        idx = (z[:, 0].abs() * 1e6).long() % len(self.images)
        return self.images[idx] * self.scale


def test_generator_is_sampled_in_eval_mode_in_batches_with_balanced_labels(test_set):
    G = Recorder(subset(test_set), n_classes=10).train()
    m = evaluator.evaluate(G, n=1_050, batch=500)
    assert G.batches == [500, 500, 50] and not any(G.modes) and G.training
    assert torch.bincount(torch.cat(G.labels)).tolist() == [105] * 10
    assert m.n == m.floor.n == 1_050 and m.fd < 20 and m.precision > 0.7
    G2 = Recorder(subset(test_set))
    assert evaluator.evaluate(G2, n=1_050).fd == m.fd  # seeded noise, same samples
    assert evaluator.evaluate(G2, n=1_050, seed=1).fd != m.fd


def test_generator_inputs_follow_a_given_latent_seeded(test_set):
    """InfoGAN's generator takes noise and one-hot codes: ``latent`` draws them, by seed."""
    from ganlib import losses

    info = losses.get("infogan", kind="2d")  # 2 noise + 8 categories + 1 continuous = 11
    G = Recorder(subset(test_set, 600))
    G.z_dim = 11
    seen = []
    forward = G.forward
    G.forward = lambda z, y=None: (seen.append(z), forward(z, y))[1]
    a = evaluator.evaluate(G, n=600, batch=250, latent=info.latent)
    z = torch.cat(seen)
    one_hot = z[:, 2:10]
    assert z.shape == (600, 11) and torch.equal(one_hot.sum(1), torch.ones(600))
    assert evaluator.evaluate(G, n=600, batch=250, latent=info.latent).fd == a.fd
    assert evaluator.evaluate(G, n=600, batch=250, latent=info.latent, seed=1).fd != a.fd


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"shape \(N, 1, 28, 28\)"):
        evaluator.evaluate(torch.zeros(10, 28, 28))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluator.evaluate(torch.rand(10, 1, 28, 28) * 255)
    with pytest.raises(TypeError, match="image tensor or a generator"):
        evaluator.evaluate(np.zeros((10, 1, 28, 28)))
    with pytest.raises(TypeError, match="z_dim"):
        evaluator.evaluate(nn.Linear(2, 2))


def fake_torchmetrics(monkeypatch, metric_class):
    module = types.ModuleType("torchmetrics.image.fid")
    module.FrechetInceptionDistance = metric_class
    for name in ("torchmetrics", "torchmetrics.image"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "torchmetrics.image.fid", module)


def test_inception_fid_is_skipped_with_a_reason_when_torchmetrics_is_absent(
        test_set, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchmetrics", None)  # import fails
    with pytest.warns(RuntimeWarning, match="Inception FID skipped: torchmetrics is not"):
        m = evaluator.evaluate(test_set.images[:500], inception=True)
    assert m.inception_fid is None and "torchmetrics is not installed" in m.note
    assert "Inception FID skipped" in m.table() and "| Inception FID |" not in m.table()


def test_inception_fid_is_skipped_when_its_weights_cannot_be_downloaded(test_set, monkeypatch):
    class Offline:
        def __init__(self, **kwargs):
            raise OSError("could not resolve host github.com")

    fake_torchmetrics(monkeypatch, Offline)
    with pytest.warns(RuntimeWarning, match="network connection"):
        m = evaluator.evaluate(test_set.images[:500], inception=True)
    assert m.inception_fid is None and "OSError" in m.note and m.fd > 0


def test_inception_fid_is_reported_with_its_floor_where_it_can_run(test_set, monkeypatch):
    fed = {True: [], False: []}  # what the metric received, as real and as generated images

    class MeanGap:  # a stand-in metric: distance between the mean pixel of real and fake
        def __init__(self, normalize, reset_real_features):
            assert normalize and not reset_real_features

        def to(self, device):
            return self

        def update(self, x, real):
            assert x.shape[1:] == (3, 28, 28) and 0 <= x.min() and x.max() <= 1
            assert torch.equal(x[:, 0], x[:, 2])  # grey images repeated over the channels
            fed[real].append(x[:, 0].clone())

        def compute(self):
            return (torch.cat(fed[True]).mean() - torch.cat(fed[False]).mean()).abs()

        def reset(self):  # keeps the real features, as reset_real_features=False does
            fed[False].clear()

    fake_torchmetrics(monkeypatch, MeanGap)
    images = test_set.images[:500].float() / 127.5 - 1  # uint8 -> [-1, 1]
    samples = images * 0.5 - 0.5  # darker than the data: a larger gap
    m = evaluator.evaluate(samples, inception=True)
    assert m.note == "" and "| Inception FID |" in m.table()
    # the generated images reached the metric in [0, 1], every one of them, in order
    assert torch.allclose(torch.cat(fed[False]), (samples[:, 0] + 1) / 2)
    real_mean = float(torch.cat(fed[True]).mean())
    assert m.inception_fid == pytest.approx(abs(real_mean - float((samples + 1).mean() / 2)))
    assert 0 <= m.floor.inception_fid < 0.05 < m.inception_fid  # test images vs the reference


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_accuracy(tmp_path, test_set):
    card = evaluator.train(tmp_path / "evaluator_weights.pt", progress=False)
    shipped = json.loads(evaluator.card_path(evaluator.WEIGHTS).read_text())
    assert evaluator.accuracy(evaluator.load(), test_set) == pytest.approx(
        shipped["test_accuracy"], abs=0.05)
    assert abs(card["test_accuracy"] - shipped["test_accuracy"]) <= 0.5
    assert card["bytes"] <= 2 * 1024 * 1024
    assert evaluator.load("cpu", str(tmp_path / "evaluator_weights.pt")) is not None
