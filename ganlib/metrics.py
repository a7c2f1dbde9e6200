"""Sample-quality metrics for the 2-D mixtures.

The mode-collapse benchmarks (Metz et al. 2017, Srivastava et al. 2017, Lin et al. 2018)
assign each generated point to its nearest mode and call it *high quality* when it lies
within three standard deviations of that mode. A mode is *covered* when it receives at
least 20% of the high-quality points a perfect generator would give it (PacGAN's rule:
fewer than 20 of an expected 100 counts as lost). W2 is the exact optimal-transport
distance to fresh target samples, computed with POT.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import ot
import torch

from ganlib.data import Mixture


@dataclass
class ModeMetrics:
    modes: int  # modes covered
    total_modes: int
    high_quality: float  # % of samples within 3 std of their nearest mode
    kl: float  # KL(mode histogram of high-quality samples || uniform), in nats
    w2: float  # 2-Wasserstein distance to the target

    def as_dict(self) -> dict:
        return asdict(self)


def mode_histogram(samples: torch.Tensor, mixture: Mixture, k_std: float = 3.0):
    """Nearest mode of each sample and whether it is high quality (within ``k_std`` std)."""
    if samples.ndim != 2 or samples.shape[1] != mixture.centers.shape[1]:
        raise ValueError(f"samples must have shape (n, {mixture.centers.shape[1]}), "
                         f"got {tuple(samples.shape)}")
    dist = torch.cdist(samples.float(), mixture.centers.to(samples.device))
    d_min, nearest = dist.min(dim=1)
    return nearest, d_min <= k_std * mixture.std


def wasserstein2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Exact W2 between two equal-weight point clouds (network simplex in POT).

    The squared-Euclidean cost matrix is built on the points' device through POT's torch
    backend (in float64; on the CPU for MPS, which has none); only the network simplex
    itself runs on the host.
    """
    device = torch.device("cpu") if x.device.type == "mps" else x.device
    M = ot.dist(x.to(device, torch.float64), y.to(device, torch.float64))
    return math.sqrt(max(float(ot.emd2([], [], M, numItermax=1_000_000)), 0.0))


def mode_metrics(samples: torch.Tensor, mixture: Mixture, n_w2: int = 2_000,
                 seed: int = 0) -> ModeMetrics:
    """Modes covered, % high quality, KL of the mode histogram and W2 for 2-D samples."""
    nearest, hq = mode_histogram(samples, mixture)
    m = len(mixture.centers)
    counts = torch.bincount(nearest[hq], minlength=m).double()
    covered = int((counts >= 0.2 * len(samples) / m).sum())
    p = counts / counts.sum().clamp_min(1)
    nz = p > 0
    kl = float((p[nz] * (p[nz] * m).log()).sum()) if counts.sum() > 0 else float("inf")
    gen = torch.Generator(device=mixture.device).manual_seed(seed)
    n = min(n_w2, len(samples))
    target, _ = mixture.sample(n, generator=gen)
    return ModeMetrics(covered, m, 100.0 * float(hq.double().mean()), kl,
                       wasserstein2(samples[:n], target))
