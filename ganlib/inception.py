"""Inception FID beside the evaluator's own scores, where it can run.

torchmetrics' ``FrechetInceptionDistance`` needs its package and, the first time, a
download of the Inception weights, which many of the places the book runs cannot reach.
:class:`InceptionFID` therefore turns every failure (the package missing, the download
refused, a run that fails on the samples) into a warning and a ``note``, never an error.
``ganlib.evaluate(..., inception=True)`` feeds it the same reference and test images as its
own floor, and the generated images as they pass to the classifier.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator

import torch


class InceptionFID:
    """torchmetrics' Inception FID, fed batch by batch (images in [-1, 1], (B, 1, 28, 28)).

    ``real`` and ``test`` are batches of the reference images and of as many test images:
    their FID is the floor, and the real features are kept for the samples that follow.
    """

    def __init__(self, real: Iterable[torch.Tensor], test: Iterable[torch.Tensor], device):
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
            for is_real, batches in ((True, real), (False, test)):
                for x in batches:
                    metric.update(self._rgb(x), real=is_real)
            self.floor = float(metric.compute())
            metric.reset()  # keeps the real features
        except Exception as e:  # offline, the download fails in many ways
            self._skip(f"its weights could not be loaded or run ({type(e).__name__}: {e}); "
                       "it needs a network connection the first time (e.g. Colab)")
            return
        self.metric = metric

    def _skip(self, why: str) -> None:
        self.note = f"Inception FID skipped: {why}."
        warnings.warn(self.note, RuntimeWarning, stacklevel=5)  # at evaluate()'s caller

    @staticmethod
    def _rgb(x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)

    def tee(self, batches: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
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
