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

The classifier, its recipe and its weights live in :mod:`ganlib.classifier`; the metrics,
which take any features, in :mod:`ganlib.feature_metrics`. Both are re-exported here.
Inception FID, where it can run (``inception=True``), comes from :mod:`ganlib.inception`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace

import torch
from torch import nn

from ganlib import data
from ganlib.classifier import (  # noqa: F401 (the evaluator's interface too)
    N_CLASSES,
    RECIPE,
    WEIGHTS,
    Classifier,
    accuracy,
    card_path,
    load,
    sha256,
    train,
)
from ganlib.feature_metrics import (  # noqa: F401 (the evaluator's interface too)
    ImageMetrics,
    class_scores,
    frechet_distance,
    gaussian_fit,
    knn_radii,
    precision_recall,
)
from ganlib.inception import InceptionFID
from ganlib.sampling import seeded_latent


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


def _inception(ref: _Reference, device, batch: int, root) -> InceptionFID:
    """Inception FID fed the reference images and as many test images (its floor)."""
    reference = data.fashion_mnist("train", root=root).images[ref.reference_idx]
    test = data.fashion_mnist("test", root=root).images[ref.test_order[:len(reference)]]
    return InceptionFID(_tensor_batches(reference, batch, device),
                        _tensor_batches(test, batch, device), device)


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
    fid = _inception(ref, device, batch, root) if inception else None
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
