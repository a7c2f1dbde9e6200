"""Checks and reductions shared by every loss function."""

from __future__ import annotations

import contextlib
import threading

import torch

REDUCTIONS = ("mean", "sum", "none")

# Finiteness checks read a value back from the device; the training loop turns them off
# (it has its own NaN guard that syncs only every few steps) with ``validation(False)``.
_STATE = threading.local()  # per thread, so two threads training at once cannot leave it off


def _validating() -> bool:
    return getattr(_STATE, "on", True)


@contextlib.contextmanager
def validation(enabled: bool):
    """Turn the per-call finiteness check of discriminator outputs on or off."""
    old, _STATE.on = _validating(), enabled
    try:
        yield
    finally:
        _STATE.on = old


def reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction`` ("mean", "sum" or "none") to per-sample losses."""
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    if reduction == "none":
        return x
    raise ValueError(f"unknown reduction {reduction!r}: use one of {REDUCTIONS}")


def check_scores(*scores: torch.Tensor, same_shape: bool = True) -> None:
    """Discriminator outputs must be finite tensors; real and fake must match in shape.

    Non-finite scores are refused rather than propagated: a NaN loss silently poisons
    both networks, and the place it first appears is where it is easiest to fix.
    """
    for s in scores:
        if not isinstance(s, torch.Tensor):
            raise TypeError(f"expected discriminator outputs as tensors, got {type(s).__name__}")
        if _validating() and not torch.isfinite(s).all():
            raise ValueError("discriminator outputs contain NaN or Inf: lower the learning rate, "
                             "check the inputs, or use a loss with a bounded critic")
    if same_shape and len({tuple(s.shape) for s in scores}) > 1:
        shapes = ", ".join(str(tuple(s.shape)) for s in scores)
        raise ValueError(f"real and fake discriminator outputs must have the same shape, got "
                         f"{shapes}; use reduction='none' per half-batch or squeeze the last dim")


def check_labels(labels: torch.Tensor, n_classes: int, batch: int | None = None) -> None:
    """Class labels must be integer indices of shape (batch,) in ``0 .. n_classes - 1``."""
    if not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point \
            or labels.dtype == torch.bool:
        kind = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"labels must be an integer tensor of class indices, got {kind}; "
                        "pass labels.long()")
    if labels.dim() != 1 or (batch is not None and len(labels) != batch):
        raise ValueError(f"labels must have shape ({batch if batch is not None else 'batch'},), "
                         f"got {tuple(labels.shape)}")
    if _validating() and labels.numel():
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(f"labels must be in 0..{n_classes - 1}, found {lo}..{hi}; build the "
                             "networks with n_classes covering every label (grid25 has 25)")


def check_class_logits(logits: torch.Tensor, labels: torch.Tensor) -> None:
    """Class logits (batch, K) must be finite and match integer labels (batch,) in 0..K-1."""
    check_scores(logits)
    if logits.dim() != 2:
        raise ValueError(f"class logits must have shape (batch, n_classes), got "
                         f"{tuple(logits.shape)}")
    check_labels(labels, logits.shape[1], len(logits))


def fake_only(g_loss, fake: torch.Tensor, real: torch.Tensor, **kw) -> torch.Tensor:
    """``g_loss`` of the fake scores alone, called as an objective calls a generator loss,
    ``(fake, real)``: a module-level function, so that objectives pickle (worker processes)."""
    return g_loss(fake, **kw)
