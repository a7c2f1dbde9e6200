"""Figures every chapter draws, in one consistent style.

Each function takes data (tensors, a History) and an optional ``ax``; it returns the
figure or axes it drew on, so a notebook can ``glue`` it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ganlib.data import Mixture


def _ax(ax, figsize=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def sample_grid(images: torch.Tensor, nrow: int = 8, ax=None, title: str | None = None):
    """Tile images in [-1, 1] of shape (n, 1, H, W) into one grayscale picture."""
    x = images.detach().float().cpu().clamp(-1, 1)
    n, _, h, w = x.shape
    ncol = int(np.ceil(n / nrow))
    canvas = torch.ones(ncol * (h + 2), nrow * (w + 2))
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, c * (w + 2) + 1:c * (w + 2) + 1 + w] = x[i, 0]
    ax = _ax(ax)
    ax.imshow(canvas.numpy(), cmap="gray", vmin=-1, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def scatter_2d(samples: torch.Tensor, mixture: Mixture, ax=None, title: str | None = None,
               lim: float | None = None):
    """Generated points (blue) over the mixture's mode centres (red crosses)."""
    ax = _ax(ax)
    s = samples.detach().cpu().numpy()
    c = mixture.centers.cpu().numpy()
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.3, color="tab:blue", rasterized=True)
    ax.scatter(c[:, 0], c[:, 1], marker="x", color="tab:red", s=30, linewidths=1)
    lim = lim or float(np.abs(c).max()) * 1.5
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def _smooth(y: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(y) < k:
        return y
    return np.convolve(y, np.ones(k) / k, mode="valid")


def curves(history, keys=("d_loss", "g_loss"), ax=None, smooth: int = 25, title=None):
    """Training curves from a History (moving average over ``smooth`` steps)."""
    ax = _ax(ax, (5, 3))
    for k in keys:
        if k in history.stats:
            y = _smooth(history[k], smooth)
            ax.plot(history["step"][len(history["step"]) - len(y):], y, label=k)
    ax.set_xlabel("generator step")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def vector_field(axis: np.ndarray, U: np.ndarray, V: np.ndarray, path: np.ndarray | None = None,
                 ax=None, title: str | None = None):
    """The Dirac-GAN field (theta on x, psi on y) with an optional simulated trajectory."""
    ax = _ax(ax)
    T, P = np.meshgrid(axis, axis)
    ax.streamplot(T, P, U, V, color=np.hypot(U, V), cmap="Greys", density=0.8, linewidth=0.8)
    if path is not None:
        ax.plot(path[:, 0], path[:, 1], color="tab:orange", lw=1.2)
        ax.plot(*path[0], "o", color="tab:orange", ms=4)
    ax.plot(0, 0, "*", color="tab:red", ms=10)
    ax.set_xlabel(r"generator $\theta$")
    ax.set_ylabel(r"discriminator $\psi$")
    ax.set_xlim(axis[0], axis[-1])
    ax.set_ylim(axis[0], axis[-1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def snapshots_2d(history, mixture: Mixture, axes=None, title: str = ""):
    """One panel per stored sample snapshot of a 2-D run (fixed noise, so the same z)."""
    steps = sorted(history.samples)
    if axes is None:
        _, axes = plt.subplots(1, len(steps), figsize=(2.2 * len(steps), 2.4))
    for ax, s in zip(np.atleast_1d(axes), steps):
        scatter_2d(history.samples[s], mixture, ax=ax, title=f"{title}step {s}")
    return axes


def generator_costs(ax=None):
    """Generator cost and its gradient w.r.t. the logit, as functions of D(G(z))."""
    d = np.linspace(1e-4, 1 - 1e-4, 500)
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(8, 3))
    ax[0].plot(d, np.log(1 - d), label=r"minimax: $\log(1 - D)$")
    ax[0].plot(d, -np.log(d), label=r"non-saturating: $-\log D$")
    ax[0].set_xlabel(r"$D(G(z))$")
    ax[0].set_ylabel("generator cost (minimised)")
    ax[0].legend(fontsize=8)
    ax[1].plot(d, -d, label=r"minimax: $-D$")
    ax[1].plot(d, -(1 - d), label=r"non-saturating: $-(1 - D)$")
    ax[1].set_xlabel(r"$D(G(z))$")
    ax[1].set_ylabel(r"$\partial\,\mathrm{cost} / \partial \ell$")
    ax[1].legend(fontsize=8)
    ax[1].axvspan(0, 0.1, color="0.9")
    return ax


def table(rows: dict[str, dict], digits: int = 3):
    """A Markdown table: one row per key of ``rows``, one column per field."""
    from IPython.display import Markdown

    cols = list(next(iter(rows.values())))

    def fmt(v):
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)

    lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(fmt(r[c]) for c in cols) + " |"
              for name, r in rows.items()]
    return Markdown("\n".join(lines))
