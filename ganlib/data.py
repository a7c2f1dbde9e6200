"""Data: the 2-D Gaussian mixtures (generated) and Fashion-MNIST (read from IDX files).

Everything here is a small object with a ``sample(n)`` method that returns a
batch already on the device, so the training loop never touches a DataLoader.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in the plane."""

    name: str
    centers: torch.Tensor  # (modes, 2)
    std: float

    def sample(self, n: int, generator: torch.Generator | None = None):
        """Draw ``n`` points and the index of the mode each came from."""
        k = torch.randint(len(self.centers), (n,), device=self.centers.device, generator=generator)
        noise = torch.randn(n, 2, device=self.centers.device, generator=generator)
        return self.centers[k] + self.std * noise, k

    def to(self, device) -> Mixture:
        return Mixture(self.name, self.centers.to(device), self.std)

    @property
    def device(self) -> torch.device:
        return self.centers.device


def ring8(radius: float = 2.0, std: float = 0.02, device=None) -> Mixture:
    """Eight Gaussians evenly spaced on a circle (the Unrolled-GAN / VEEGAN benchmark)."""
    angle = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    centers = radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    return Mixture("ring8", centers.to(device), std)


def grid25(spacing: float = 2.0, std: float = 0.05, device=None) -> Mixture:
    """A 5x5 grid of Gaussians at ``spacing`` apart, centred on the origin (PacGAN, VEEGAN)."""
    axis = (torch.arange(5, dtype=torch.float32) - 2) * spacing
    centers = torch.cartesian_prod(axis, axis)
    return Mixture("grid25", centers.to(device), std)


MIXTURES = {"ring8": ring8, "grid25": grid25}


@dataclass
class Images:
    """Images resident in memory as uint8 with their labels; batches come out in [-1, 1]."""

    images: torch.Tensor  # (N, 1, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    classes: tuple[str, ...] = FASHION_CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    def sample(self, n: int, generator: torch.Generator | None = None):
        idx = torch.randint(len(self), (n,), device=self.images.device, generator=generator)
        return to_signed_unit(self.images[idx]), self.labels[idx]

    def to(self, device) -> Images:
        return Images(self.images.to(device), self.labels.to(device), self.classes)

    @property
    def device(self) -> torch.device:
        return self.images.device


def to_signed_unit(images_uint8: torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels 0..255 to floats in [-1, 1] (the range of a tanh generator)."""
    return images_uint8.float().div_(127.5).sub_(1.0)


def read_idx(path: str | Path) -> np.ndarray:
    """Read one (optionally gzipped) IDX file into a uint8 array, checking it thoroughly."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # bad gzip stream, truncated gzip
        raise ValueError(f"{path}: cannot read IDX file ({e}); the file is corrupt, "
                         "delete it and fetch it again") from e
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: wrong magic number {raw[:4].hex()} (expected 0x0000080N for "
                         "unsigned-byte IDX data); this is not an MNIST-style IDX file")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(f"{path}: truncated or padded IDX file: {len(raw)} bytes, header "
                         f"promises {expected} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _download_dir(root) -> Path:
    """Where ``download=True`` leaves the files (torchvision's layout under ``root`` or
    ``~/.cache/ganlib``)."""
    base = Path(root) if root is not None else Path.home() / ".cache" / "ganlib"
    return base / "FashionMNIST" / "raw"


def _candidate_dirs(root) -> list[Path]:
    dirs = [Path(root)] if root is not None else []
    if os.environ.get("GANLIB_DATA"):
        dirs.append(Path(os.environ["GANLIB_DATA"]))
    dirs.append(DEBIAN_FASHION_MNIST)
    dirs.append(_download_dir(root))  # an earlier download, found without downloading again
    return dirs


def _missing_message(split: str, tried: list[Path]) -> str:
    names = ", ".join(_IDX_FILES[split])
    return (
        f"Fashion-MNIST ({split}) not found; looked for {names} in: "
        + ", ".join(str(d) for d in tried)
        + ". Get it one of three ways: (1) install the Debian package "
        "'dataset-fashion-mnist' (apt-get install dataset-fashion-mnist), which puts the files in "
        f"{DEBIAN_FASHION_MNIST}; (2) put the four IDX .gz files in a directory and pass "
        "root=DIR or set GANLIB_DATA=DIR; (3) when online (for example on Colab), pass "
        "download=True to fetch them with torchvision."
    )


def fashion_mnist(split: str = "train", root: str | Path | None = None, download: bool = False,
                  device=None) -> Images:
    """Load Fashion-MNIST (Xiao et al. 2017) from IDX files, keeping it on ``device``.

    Looks in ``root``, then ``$GANLIB_DATA``, then Debian's ``/usr/share/datasets/fashion-mnist``,
    then where an earlier download left the files; only with ``download=True`` does it fall
    back to torchvision's download (into ``root`` or ``~/.cache/ganlib``), so that later calls,
    without ``download``, find the same files. The images stay uint8 (47 MB for the training
    split).
    """
    if split not in _IDX_FILES:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    tried = _candidate_dirs(root)
    for d in tried:
        files = [d / name for name in _IDX_FILES[split]]
        if all(f.exists() for f in files):
            break
    else:
        if not download:
            raise FileNotFoundError(_missing_message(split, tried))
        d = _download(root)
        files = [d / name for name in _IDX_FILES[split]]
    images, labels = (read_idx(f) for f in files)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"{files[0]}: expected N x 28 x 28 images and N labels, got "
                         f"{images.shape} and {labels.shape}")
    if labels.max() >= len(FASHION_CLASSES):
        raise ValueError(f"{files[1]}: labels must be in 0..9, found {int(labels.max())}")
    return Images(torch.from_numpy(images.copy()).unsqueeze(1),
                  torch.from_numpy(labels.astype(np.int64)), FASHION_CLASSES).to(device or "cpu")


def _download(root) -> Path:
    try:
        from torchvision.datasets import FashionMNIST
    except ImportError as e:
        raise ImportError("download=True needs torchvision (pip install torchvision)") from e
    raw = _download_dir(root)
    FashionMNIST(str(raw.parent.parent), train=True, download=True)
    FashionMNIST(str(raw.parent.parent), train=False, download=True)
    return raw


def mnist(split: str = "train", root: str | Path = "~/.cache/ganlib", device=None) -> Images:
    """MNIST through torchvision's download (online only; optional)."""
    try:
        from torchvision.datasets import MNIST
    except ImportError as e:
        raise ImportError("mnist() needs torchvision and a network connection") from e
    ds = MNIST(str(Path(root).expanduser()), train=split == "train", download=True)
    return Images(ds.data.unsqueeze(1), ds.targets.long(), tuple(map(str, range(10)))).to(
        device or "cpu")
