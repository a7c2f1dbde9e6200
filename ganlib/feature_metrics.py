"""Image metrics on feature vectors: the Frechet distance between Gaussian fits, improved
precision and recall on k-NN balls, and class coverage from predicted labels.
:mod:`ganlib.evaluator` computes them in its classifier's features; they take any features.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields

import torch

from ganlib.classifier import N_CLASSES


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
