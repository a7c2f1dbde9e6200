"""Figures every chapter draws, in one consistent style.

Each function takes data (tensors, a History) and an optional ``ax``; it returns the
figure or axes it drew on, so a notebook can ``glue`` it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _frame_2d(ax, centers: np.ndarray, lim: float | None, title: str | None):
    """Square axes around the mode centres, without ticks (every 2-D scatter of the book)."""
    lim = float(np.abs(centers).max()) * 1.5 if lim is None else lim
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def scatter_2d(samples: torch.Tensor, mixture: Mixture, ax=None, title: str | None = None,
               lim: float | None = None):
    """Generated points (blue) over the mixture's mode centres (red crosses)."""
    ax = _ax(ax)
    s = samples.detach().cpu().numpy()
    c = mixture.centers.cpu().numpy()
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.3, color="tab:blue", rasterized=True)
    ax.scatter(c[:, 0], c[:, 1], marker="x", color="tab:red", s=30, linewidths=1)
    return _frame_2d(ax, c, lim, title)


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
    """A Markdown table: one row per key of ``rows``, one column per field (IPython's
    ``Markdown``; without IPython, an object with the same ``data`` that prints as text)."""
    cols = list(next(iter(rows.values())))

    def fmt(v):
        # a "|" inside a cell (|m1 - m2|, KL(P || Q)) would end the cell: escape it
        return (f"{v:.{digits}g}" if isinstance(v, float) else str(v)).replace("|", r"\|")

    lines = ["| | " + " | ".join(map(fmt, cols)) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {fmt(name)} | " + " | ".join(fmt(r[c]) for c in cols) + " |"
              for name, r in rows.items()]
    text = "\n".join(lines)
    try:
        from IPython.display import Markdown
    except ImportError:  # plain Python
        return MarkdownText(text)
    return Markdown(text)


@dataclass(frozen=True)
class MarkdownText:
    """Markdown outside IPython: ``data`` as IPython's ``Markdown`` has it, printed as is."""

    data: str

    def _repr_markdown_(self) -> str:
        return self.data

    def __str__(self) -> str:
        return self.data


def scatter_2d_labels(samples: torch.Tensor, labels: torch.Tensor, mixture: Mixture, ax=None,
                      title: str | None = None, lim: float | None = None):
    """Generated points coloured by an integer label (the class asked for, or a latent code),
    over the mixture's mode centres (black crosses)."""
    ax = _ax(ax)
    s = samples.detach().cpu().numpy()
    y = labels.detach().cpu().numpy()
    c = mixture.centers.cpu().numpy()
    cmap = plt.get_cmap("tab10" if y.max() < 10 else "tab20")
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.5, c=y % cmap.N, cmap=cmap, vmin=0,
               vmax=cmap.N - 1, rasterized=True)
    ax.scatter(c[:, 0], c[:, 1], marker="x", color="black", s=20, linewidths=0.8)
    return _frame_2d(ax, c, lim, title)


def confusion(counts, ax=None, xlabel: str = "", ylabel: str = "", xticks=None, yticks=None,
              title: str | None = None):
    """A count matrix (rows: what was asked for, columns: what came out) as a heatmap,
    each row normalised to sum to 1."""
    ax = _ax(ax)
    m = np.asarray(counts, dtype=float)
    m = m / np.maximum(m.sum(1, keepdims=True), 1)
    ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(m.shape[0]))
    if xticks is not None:
        ax.set_xticklabels(xticks, rotation=90, fontsize=7)
    if yticks is not None:
        ax.set_yticklabels(yticks, fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def loss_costs(curves: dict, ax=None, x: str = "score"):
    """Generator cost (left) and its derivative w.r.t. the raw score (right) of several losses
    (``ganlib.explore.CostCurve``), against the raw score ``s`` or, with
    ``x="probability"``, against D(G(z)) = sigmoid(s) for the classifier losses only."""
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    styles = ["-", "--", ":", "-."]
    for i, (name, c) in enumerate(curves.items()):
        if x == "probability" and not c.sigmoid:
            continue
        h = 1 / (1 + np.exp(-c.score)) if x == "probability" else c.score
        kw = {"label": name, "ls": styles[i // 10 % 4], "color": f"C{i % 10}"}
        ax[0].plot(h, c.cost, **kw)
        ax[1].plot(h, c.slope, **kw)
    label = r"$D(G(z)) = \sigma(s)$" if x == "probability" else r"raw score $s$ on $G(z)$"
    for a, y in zip(ax, ("generator cost $c(s)$ (minimised)", r"$\partial c / \partial s$")):
        a.set_xlabel(label)
        a.set_ylabel(y)
        a.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax[1].legend(fontsize=7, ncol=2)
    return ax


def critic_2d(D, mixture: Mixture, ax=None, samples: torch.Tensor | None = None,
              lim: float | None = None, n: int = 150, title: str | None = None):
    """A 2-D critic's raw score (critic value or logit) as filled contours over the plane, with
    the mixture's mode centres (red crosses) and, optionally, generated points (white)."""
    ax = _ax(ax)
    c = mixture.centers.cpu().numpy()
    lim = float(np.abs(c).max()) * 1.5 if lim is None else lim
    axis = torch.linspace(-lim, lim, n)
    X, Y = torch.meshgrid(axis, axis, indexing="xy")
    device = next(D.parameters()).device
    was_training = D.training
    D.eval()
    try:
        with torch.no_grad():
            Z = D(torch.stack([X.flatten(), Y.flatten()], 1).to(device)).reshape(n, n).cpu()
    finally:
        D.train(was_training)
    cs = ax.contourf(X.numpy(), Y.numpy(), Z.numpy(), levels=20, cmap="viridis")
    plt.colorbar(cs, ax=ax, fraction=0.046, pad=0.04)
    if samples is not None:
        s = samples.detach().cpu().numpy()
        ax.scatter(s[:, 0], s[:, 1], s=1, color="white", alpha=0.4, rasterized=True)
    ax.scatter(c[:, 0], c[:, 1], marker="x", color="tab:red", s=30, linewidths=1)
    return _frame_2d(ax, c, lim, title)
