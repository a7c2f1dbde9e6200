"""The Fashion-MNIST evaluator: a small classifier the project trains itself, and the image
metrics computed in its feature space.

Inception weights cannot be downloaded everywhere the book runs, so FID's role is played
by a Fashion-MNIST CNN whose weights ship with the package (``evaluator_weights.pt``, with
its recipe, test accuracy and sha256 in ``evaluator_weights.json``). ``make evaluator``, or
``python -m ganlib.evaluator train``, retrains it from the seed and recipe in :data:`RECIPE`.

:func:`evaluate` scores generated images against real ones in the classifier's
penultimate (128-d) features:

* the Frechet distance (FD) between Gaussians fitted to the features (Heusel et al. 2017,
  https://arxiv.org/abs/1706.08500, with this classifier in place of Inception);
* precision and recall (Kynkaanniemi et al. 2019, https://arxiv.org/abs/1904.06991): the
  fraction of generated samples inside the k-NN balls of the real ones, and vice versa;
* class coverage, the KL divergence of the predicted-class histogram to uniform, and the
  mean classifier confidence.

Every score comes with its real-vs-real floor: the same metric between a fixed subset of
the training split (the reference) and the test split. Read precision with recall and class
coverage: a collapsed generator whose few outputs land in the large k-NN ball of an
outlying real image scores a high precision and a recall near zero (Naeem et al. 2020).

The recipe (:data:`RECIPE`): two conv blocks (32 and 64 channels) and a 128-unit layer,
422k parameters (1.7 MB in float32); 8 epochs of Adam, batch 128, one-cycle learning rate
peaking at 2e-3, random horizontal flips, dropout 0.3 before the last layer; seed 0, with
``torch.use_deterministic_algorithms``. About 10.5 CPU-minutes, so 5 to 10 minutes on two
idle CPU cores; 92.5% test accuracy.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import sys
import time
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ganlib import config, data
from ganlib.train import seeded_latent

WEIGHTS = Path(__file__).with_name("evaluator_weights.pt")
N_CLASSES = 10
# The training recipe; the card next to the weights records it with the result.
RECIPE = {
    "seed": 0,
    "epochs": 8,
    "batch": 128,
    "optimizer": "Adam",
    "lr": 2e-3,
    "schedule": "one-cycle cosine (30% warm-up), per step",
    "augment": "random horizontal flip",
    "dropout": 0.3,
    "data": "Fashion-MNIST train (60,000); accuracy on test (10,000)",
}


class Classifier(nn.Module):
    """conv 32 3x3-BN-ReLU-maxpool, conv 64 3x3-BN-ReLU-maxpool, FC 128-ReLU, FC 10.

    ``features`` maps images in [-1, 1] to the 128 penultimate activations the metrics
    use; ``head`` maps those to class logits.
    """

    def __init__(self, dropout: float = RECIPE["dropout"]):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(128, N_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ----------------------------------------------------------------------------- training


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def card_path(weights: str | Path) -> Path:
    """The JSON card that sits next to a weights file."""
    return Path(weights).with_suffix(".json")


@torch.inference_mode()
def accuracy(model: Classifier, images: data.Images, batch: int = 1_000) -> float:
    """Top-1 accuracy in percent of ``model`` (put in eval mode) on ``images``."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(images), batch):
        x = data.to_signed_unit(images.images[i:i + batch].to(device))
        correct += int((model(x).argmax(1) == images.labels[i:i + batch].to(device)).sum())
    return 100.0 * correct / len(images)


def train(out: str | Path = WEIGHTS, epochs: int = RECIPE["epochs"], seed: int = RECIPE["seed"],
          device=None, root=None, progress: bool = True) -> dict:
    """Train the evaluator from scratch with :data:`RECIPE`; write the weights to ``out`` and
    the card (recipe, test accuracy, sha256, versions, wall time) next to it; return the card.

    Seeded and deterministic on one machine (``torch.use_deterministic_algorithms``); on
    another machine or thread count the float sums differ slightly, so the accuracy, not
    the hash, is what a retrain reproduces.
    """
    device = torch.device(device or "cpu")
    t0, cpu0 = time.perf_counter(), time.process_time()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        gen = config.seed_everything(seed)
        train_set = data.fashion_mnist("train", root=root, device=device)
        test_set = data.fashion_mnist("test", root=root, device=device)
        model = Classifier().to(device)
        steps_per_epoch = len(train_set) // RECIPE["batch"]  # the last partial batch is dropped
        opt = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=RECIPE["lr"], total_steps=epochs * steps_per_epoch, pct_start=0.3)
        log = []
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(train_set), generator=gen).to(device)
            flips = torch.rand(len(train_set), generator=gen).to(device) < 0.5
            for s in range(steps_per_epoch):
                idx = order[s * RECIPE["batch"]:(s + 1) * RECIPE["batch"]]
                x = data.to_signed_unit(train_set.images[idx])
                x = torch.where(flips[idx, None, None, None], x.flip(3), x)
                loss = F.cross_entropy(model(x), train_set.labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            acc = accuracy(model, test_set)
            log.append(round(acc, 2))
            if progress:
                print(f"epoch {epoch + 1}/{epochs}: loss {loss.detach().item():.3f}, test accuracy "
                      f"{acc:.2f}% ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, out)
    card = {
        "file": out.name,
        "sha256": sha256(out),
        "bytes": out.stat().st_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "test_accuracy": round(log[-1], 2),
        "accuracy_per_epoch": log,
        "recipe": {**RECIPE, "seed": seed, "epochs": epochs},
        "architecture": Classifier.__doc__.splitlines()[0],
        "train_seconds": round(time.perf_counter() - t0, 1),
        "train_cpu_seconds": round(time.process_time() - cpu0, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    card_path(out).write_text(json.dumps(card, indent=1) + "\n")
    return card


@functools.lru_cache(maxsize=4)
def load(device: str = "cpu", path: str = str(WEIGHTS)) -> Classifier:
    """The trained classifier on ``device``, ready for inference (eval mode, BatchNorm folded
    into the convolutions), its weights' sha256 checked against their card first."""
    path = Path(path)
    card = card_path(path)
    remedy = "run `make evaluator` (or `python -m ganlib.evaluator train`) to retrain it"
    if not path.exists() or not card.exists():
        raise FileNotFoundError(f"evaluator weights {path} or their card {card.name} are "
                                f"missing; {remedy}")
    expected = json.loads(card.read_text())["sha256"]
    if sha256(path) != expected:
        raise ValueError(f"{path} does not match the sha256 recorded in {card.name} "
                         f"({expected[:12]}...): the file is corrupt or stale; {remedy}")
    model = Classifier()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return _for_inference(model.eval()).to(device).requires_grad_(False)


def _for_inference(model: Classifier) -> Classifier:
    """The same function, about three times faster on a CPU: each BatchNorm folded into its
    convolution, max-pooling before ReLU (they commute, and ReLU then sees a quarter of the
    values), channels-last memory for oneDNN."""
    f = model.features  # conv, BN, ReLU, pool, conv, BN, ReLU, pool, flatten, linear, ReLU
    model.features = nn.Sequential(
        fuse_conv_bn_eval(f[0], f[1]), f[3], f[2], fuse_conv_bn_eval(f[4], f[5]), f[7], f[6],
        *f[8:])
    return model.to(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------- metrics


@contextlib.contextmanager
def _single_thread(device: torch.device):
    """One CPU thread for small dense algebra: a 128 x 128 eigendecomposition gains nothing
    from threads, and on a busy machine their spin-waits cost it 50 times over."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    r"""Frechet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2):

    .. math:: \|\mu_1 - \mu_2\|^2 + \operatorname{tr}\big(\Sigma_1 + \Sigma_2
              - 2 (\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2}\big)

    The trace of the square root of :math:`\Sigma_1\Sigma_2` equals that of the symmetric
    positive semi-definite :math:`\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}` (similar matrices),
    so two symmetric eigendecompositions replace ``scipy.linalg.sqrtm``'s Schur form; it
    runs in float64 on the inputs' device (CPU for MPS, which has no float64).
    """
    device = torch.as_tensor(mu1).device
    device = torch.device("cpu") if device.type == "mps" else device
    mu1, cov1, mu2, cov2 = (torch.as_tensor(a, device=device).double()
                            for a in (mu1, cov1, mu2, cov2))
    with _single_thread(device):
        w, v = torch.linalg.eigh(cov1)
        root1 = (v * w.clamp_min(0).sqrt()) @ v.T
        m = root1 @ cov2 @ root1
        trace_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + cov1.trace() + cov2.trace() - 2 * trace_sqrt)


def gaussian_fit(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) covariance of the rows of ``features``, in float64."""
    f = features.double() if features.device.type != "mps" else features.cpu().double()
    return f.mean(0), torch.cov(f.T)


def _squared_distances(a: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """|a_i - b_j|^2 as |a_i|^2 + |b_j|^2 - 2 a_i.b_j: one matrix product, no square roots."""
    d2 = torch.addmm(b_sq[None], a, b.T, alpha=-2)
    return d2.add_(a.square().sum(1, keepdim=True)).clamp_min_(0)


def knn_radii(features: torch.Tensor, k: int = 3, chunk: int = 1_024) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (the k-NN ball's radius)."""
    sq = features.square().sum(1)
    radii = [_squared_distances(features[i:i + chunk], features, sq)
             .topk(k + 1, dim=1, largest=False).values[:, k]  # column 0 is the row itself
             for i in range(0, len(features), chunk)]
    return torch.cat(radii).sqrt()


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor,
                     chunk: int = 1_024) -> torch.Tensor:
    """Fraction of ``points`` within ``radii[j]`` of some ``centres[j]``."""
    sq, r2 = centres.square().sum(1), radii.square()
    inside = [(_squared_distances(points[i:i + chunk], centres, sq) <= r2).any(1)
              for i in range(0, len(points), chunk)]
    return torch.cat(inside).float().mean()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of ``fake`` against ``real``.

    Precision is the fraction of fake features inside the union of the real k-NN balls
    (quality); recall the fraction of real features inside the union of the fake ones
    (coverage). ``real_radii`` may be passed when the real set is reused.
    """
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    precision = _inside_any_ball(fake, real, real_radii)
    recall = _inside_any_ball(real, fake, knn_radii(fake, k))
    return float(precision), float(recall)


def class_scores(pred: torch.Tensor, confidence: torch.Tensor) -> dict:
    """Class coverage, KL(predicted-class histogram || uniform) in nats, mean confidence.

    ``pred`` holds the predicted class of each image and ``confidence`` its top softmax
    probability. A class is *covered* when it receives at least 20% of its uniform share
    of the predictions (``n / 10``), the rule the 2-D metrics use for modes (PacGAN's);
    ``class_coverage`` is the fraction of the 10 classes covered.
    """
    counts = torch.bincount(pred, minlength=N_CLASSES).double()
    p = counts / counts.sum()
    nz = p > 0
    return {"class_coverage": float((counts >= 0.2 * len(pred) / N_CLASSES).double().mean()),
            "class_kl": float((p[nz] * (p[nz] * N_CLASSES).log()).sum()),
            "confidence": float(confidence.double().mean())}


@dataclass
class ImageMetrics:
    """Scores of one set of images; ``floor`` holds the real-vs-real values of the same.

    ``fd``: Frechet distance in the classifier's features (lower is better);
    ``precision``/``recall`` in [0, 1]; ``class_coverage``: fraction of the 10 classes
    covered; ``class_kl``: KL(predicted classes || uniform) in nats; ``confidence``: mean
    top softmax probability; ``inception_fid``: torchmetrics' FID where it could run (else
    ``None``, and ``note`` says why); ``n``: number of images scored.
    """

    fd: float
    precision: float
    recall: float
    class_coverage: float
    class_kl: float
    confidence: float
    n: int
    inception_fid: float | None = None
    floor: ImageMetrics | None = None
    note: str = ""

    def as_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "floor"}
        if self.floor is not None:
            d["floor"] = self.floor.as_dict()
        return d

    def table(self) -> str:
        """A Markdown table: one row per metric, the score next to its real-vs-real floor."""
        rows = [("FD (classifier features)", "fd", ".2f"), ("precision", "precision", ".3f"),
                ("recall", "recall", ".3f"), ("class coverage", "class_coverage", ".2f"),
                ("KL(classes \\|\\| uniform)", "class_kl", ".4f"),
                ("confidence", "confidence", ".3f"), ("Inception FID", "inception_fid", ".2f")]

        def fmt(m, key, spec):
            v = None if m is None else getattr(m, key)
            return "n/a" if v is None else format(v, spec)

        lines = [f"| metric (n = {self.n:,}) | score | real-vs-real floor |", "|---|---|---|"]
        lines += [f"| {label} | {fmt(self, key, spec)} | {fmt(self.floor, key, spec)} |"
                  for label, key, spec in rows
                  if key != "inception_fid" or self.inception_fid is not None]
        if self.note:
            lines.append(f"\n{self.note}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.table()


@dataclass
class _Summary:
    """All that is kept of a set of images: features, predicted class and confidence."""

    features: torch.Tensor  # (n, 128) float32
    pred: torch.Tensor  # (n,) int64
    confidence: torch.Tensor  # (n,) float32

    def __getitem__(self, idx) -> _Summary:
        return _Summary(self.features[idx], self.pred[idx], self.confidence[idx])


@torch.inference_mode()
def _summarise(model: Classifier, batches) -> _Summary:
    """Run the classifier over an iterable of image batches, keeping only the summaries."""
    feats, preds, confs = [], [], []
    for x in batches:
        h = model.features(x)
        confidence, pred = model.head(h).softmax(1).max(1)
        feats.append(h)
        preds.append(pred)
        confs.append(confidence)
    return _Summary(torch.cat(feats), torch.cat(preds), torch.cat(confs))


def _tensor_batches(images: torch.Tensor, batch: int, device):
    """Batches of a (N, 1, 28, 28) uint8 or [-1, 1] float tensor, moved to ``device``."""
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (N, 1, 28, 28), got {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        lo, hi = float(images.min()), float(images.max())
        if lo < -1.001 or hi > 1.001:
            raise ValueError(f"float images must lie in [-1, 1] (a tanh generator's range), "
                             f"got values in [{lo:.3g}, {hi:.3g}]")
    for i in range(0, len(images), batch):
        x = images[i:i + batch].to(device)
        yield data.to_signed_unit(x) if x.dtype == torch.uint8 else x.float()


def _generator_batches(G: nn.Module, n: int, batch: int, seed: int, device, latent=None):
    """``n`` samples of G (already in eval mode), z ~ N(0, I) or ``latent``, balanced labels
    if conditional."""
    if not hasattr(G, "z_dim"):
        raise TypeError("a generator passed to evaluate() needs a `z_dim` attribute (the size "
                        "of its noise input), as ganlib.models' generators have")
    g_device = next(G.parameters()).device
    gen = torch.Generator(device=g_device).manual_seed(seed)
    z_all = None if latent is None else seeded_latent(latent, n, G.z_dim, seed, g_device)
    n_classes = getattr(G, "n_classes", 0)
    for i in range(0, n, batch):
        m = min(batch, n - i)
        z = (torch.randn(m, G.z_dim, generator=gen, device=g_device) if z_all is None
             else z_all[i:i + m])
        y = torch.arange(i, i + m, device=g_device) % n_classes if n_classes else None
        x = G(z) if y is None else G(z, y)
        if tuple(x.shape) != (m, 1, 28, 28):
            raise ValueError(f"the generator must return (batch, 1, 28, 28) images, "
                             f"got {tuple(x.shape)}")
        yield x.to(device)


@dataclass
class _Reference:
    """Cached real-data summaries: the reference (train subset) and the test split."""

    reference: _Summary
    radii: torch.Tensor  # k-NN radii of the reference features
    mu: torch.Tensor
    cov: torch.Tensor
    test: _Summary
    test_order: torch.Tensor  # the seeded order in which test images enter a floor
    reference_idx: torch.Tensor  # which training images form the reference
    floors: dict


_REFERENCES: dict[tuple, _Reference] = {}


def _reference(model: Classifier, device, n_real: int, k: int, seed: int, batch: int,
               root) -> _Reference:
    key = (str(device), n_real, k, seed, str(root))
    if key not in _REFERENCES:
        train_set = data.fashion_mnist("train", root=root)
        test_set = data.fashion_mnist("test", root=root)
        gen = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(train_set), generator=gen)[:n_real]
        reference = _summarise(model, _tensor_batches(train_set.images[idx], batch, device))
        mu, cov = gaussian_fit(reference.features)
        test = _summarise(model, _tensor_batches(test_set.images, batch, device))
        _REFERENCES[key] = _Reference(reference, knn_radii(reference.features, k), mu, cov,
                                      test, torch.randperm(len(test_set), generator=gen), idx,
                                      {})
    return _REFERENCES[key]


def _score(fake: _Summary, ref: _Reference, k: int) -> ImageMetrics:
    precision, recall = precision_recall(ref.reference.features, fake.features, k, ref.radii)
    fd = frechet_distance(ref.mu, ref.cov, *gaussian_fit(fake.features))
    return ImageMetrics(fd, precision, recall, n=len(fake.pred),
                        **class_scores(fake.pred, fake.confidence))


def _floor(ref: _Reference, n: int, k: int) -> ImageMetrics:
    """Test split vs reference, on as many test images as were scored (at most 10,000)."""
    n = min(n, len(ref.test_order))
    if n not in ref.floors:
        ref.floors[n] = _score(ref.test[ref.test_order[:n].to(ref.test.pred.device)], ref, k)
    return ref.floors[n]


def evaluate(samples, n: int = 10_000, *, batch: int = 500, k: int = 3, n_real: int = 10_000,
             seed: int = 0, device=None, root=None, inception: bool = False,
             latent=None) -> ImageMetrics:
    """Score Fashion-MNIST samples in the shipped classifier's feature space.

    ``samples`` is a tensor of images (N, 1, 28, 28), float in [-1, 1] or uint8 (all N are
    scored), or a generator ``nn.Module`` with a ``z_dim`` attribute, from which ``n``
    samples are drawn in eval mode with z ~ N(0, I) seeded by ``seed`` (a conditional
    generator, ``n_classes > 0``, gets balanced labels); ``latent`` replaces N(0, I) by an
    objective's input distribution, ``latent(n, z_dim, device)`` (pass ``objective.latent``
    for InfoGAN, whose generator takes noise and codes). Images pass through the classifier
    in batches of ``batch`` and only their 128-d features (with the predicted class and its
    probability) are kept on the device, so 10,000 samples cost about 5 MB.

    The reference is a fixed seeded subset of ``n_real`` training images; the floor scores
    as many test images as there are samples (at most 10,000) against it. Both are computed
    once per process and cached. ``k`` is the neighbourhood size of precision and recall (3,
    as in the paper). ``device`` defaults to the generator's or the tensor's device.

    ``inception=True`` adds torchmetrics' Inception FID (with its own floor) where
    torchmetrics and its weights are available (online, e.g. Colab); otherwise it warns,
    leaves ``inception_fid`` as ``None`` and says why in ``note``.
    """
    is_generator = isinstance(samples, nn.Module)
    if isinstance(samples, data.Images):
        samples = samples.images
    if not is_generator and not isinstance(samples, torch.Tensor):
        raise TypeError(f"evaluate() takes an image tensor or a generator nn.Module, "
                        f"got {type(samples).__name__}")
    if device is None:
        device = next(samples.parameters()).device if is_generator else samples.device
    device = torch.device(device)
    model = load(str(device))
    ref = _reference(model, device, n_real, k, seed, batch, root)
    fid = _InceptionFID(ref, device, batch, root) if inception else None
    if is_generator:
        was_training = samples.training
        samples.eval()
        try:
            batches = _generator_batches(samples, n, batch, seed, device, latent)
            fake = _summarise(model, fid.tee(batches) if fid else batches)
        finally:
            samples.train(was_training)
    else:
        batches = _tensor_batches(samples, batch, device)
        fake = _summarise(model, fid.tee(batches) if fid else batches)
    if len(fake.pred) <= k:
        raise ValueError(f"evaluate() needs more than k = {k} samples, got {len(fake.pred)}")
    scores = _score(fake, ref, k)
    floor = _floor(ref, len(fake.pred), k)
    scores.floor = replace(floor)  # a copy: the cached floor stays without Inception FID
    if fid is not None:
        scores.inception_fid, scores.floor.inception_fid = fid.compute()
        scores.note = fid.note
    return scores


class _InceptionFID:
    """torchmetrics' Inception FID, fed batch by batch; any failure becomes a note, not an error.

    Real features come from the same reference images, and its floor from the same test
    images, as the classifier's scores.
    """

    def __init__(self, ref: _Reference, device, batch: int, root):
        self.metric, self.floor, self.note = None, None, ""
        try:
            from torchmetrics.image.fid import FrechetInceptionDistance
        except ImportError as e:
            self._skip("torchmetrics is not installed (pip install torchmetrics torch-fidelity, "
                       f"online) [{e}]")
            return
        try:  # the Inception weights are downloaded here on first use
            metric = FrechetInceptionDistance(normalize=True, reset_real_features=False)
            metric = metric.to(device)
            train_images = data.fashion_mnist("train", root=root).images[ref.reference_idx]
            test_images = data.fashion_mnist("test", root=root).images
            test_images = test_images[ref.test_order[:len(ref.reference_idx)]]
            for real, images in ((True, train_images), (False, test_images)):
                for x in _tensor_batches(images, batch, device):
                    metric.update(self._rgb(x), real=real)
            self.floor = float(metric.compute())
            metric.reset()  # keeps the real features
        except Exception as e:  # offline, the download fails in many ways
            self._skip(f"its weights could not be loaded or run ({type(e).__name__}: {e}); "
                       "it needs a network connection the first time (e.g. Colab)")
            return
        self.metric = metric

    def _skip(self, why: str) -> None:
        self.note = f"Inception FID skipped: {why}."
        warnings.warn(self.note, RuntimeWarning, stacklevel=4)

    @staticmethod
    def _rgb(x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)

    def tee(self, batches):
        """Pass ``batches`` through, feeding each to the metric as generated images."""
        for x in batches:
            if self.metric is not None:
                try:
                    self.metric.update(self._rgb(x), real=False)
                except Exception as e:
                    self.metric = None
                    self._skip(f"it failed on the samples ({type(e).__name__}: {e})")
            yield x

    def compute(self) -> tuple[float | None, float | None]:
        """(FID of the samples, FID of the test split): ``None`` for both when skipped."""
        if self.metric is None:
            return None, None
        try:
            return float(self.metric.compute()), self.floor
        except Exception as e:
            self._skip(f"it failed on the samples ({type(e).__name__}: {e})")
            return None, None


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlib.evaluator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="retrain the classifier (writes the weights and card)")
    t.add_argument("--out", default=str(WEIGHTS), help="weights file (default: the shipped one)")
    t.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    t.add_argument("--seed", type=int, default=RECIPE["seed"])
    t.add_argument("--device", default="cpu")
    t.add_argument("--root", default=None, help="directory holding the Fashion-MNIST IDX files")
    c = sub.add_parser("check", help="verify the shipped weights' sha256 and test accuracy")
    c.add_argument("--root", default=None, help="directory holding the Fashion-MNIST IDX files")
    args = parser.parse_args(argv)
    if args.command == "train":
        card = train(args.out, epochs=args.epochs, seed=args.seed, device=args.device,
                     root=args.root)
        print(json.dumps(card, indent=1))
        return 0
    recorded = json.loads(card_path(WEIGHTS).read_text())["test_accuracy"]
    measured = accuracy(load(), data.fashion_mnist("test", root=args.root))
    print(f"{WEIGHTS.name}: sha256 ok, test accuracy {measured:.2f}% (card: {recorded:.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
