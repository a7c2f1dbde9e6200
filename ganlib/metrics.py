"""Sample-quality metrics for the 2-D mixtures.

The mode-collapse benchmarks (Metz et al. 2017, Srivastava et al. 2017, Lin et al. 2018)
assign each generated point to its nearest mode and call it *high quality* when it lies
within three standard deviations of that mode. A mode is *covered* when it receives at
least 20% of the high-quality points a perfect generator would give it (PacGAN's rule:
fewer than 20 of an expected 100 counts as lost). W2 is the exact optimal-transport
distance to fresh target samples, computed with POT.

Three standard deviations is 0.06 on ring8: early in training a generator that has found
every mode but is not yet sharp covers none by that rule, which then measures sharpness.
Coverage is therefore also counted at a *radius* of 0.3 times the distance between
neighbouring modes (0.46 on ring8, 0.6 on grid25): a point that close to a mode is nearer
to it than to any other (that takes under half the spacing) with a margin, so the count
says which modes the generator found. W2 of two finite samples of the target itself is
not 0: ``w2_floor`` is that floor at the same sample size.
"""

from __future__ import annotations

import functools
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
    modes_radius: int = 0  # modes covered, counting samples within COVERAGE_RADIUS spacings
    w2_floor: float = 0.0  # W2 between two target samples of the same size

    def as_dict(self) -> dict:
        return asdict(self)


COVERAGE_RADIUS = 0.3  # in units of the distance between neighbouring modes
# a sample is high quality within this many standard deviations of its nearest mode
HIGH_QUALITY_STD = 3.0


def spacing(mixture: Mixture) -> float:
    """The distance between neighbouring modes (the smallest distance between two centres)."""
    d = torch.cdist(mixture.centers, mixture.centers)
    return float(d[~torch.eye(len(d), dtype=torch.bool, device=d.device)].min())


def _nearest_mode(samples: torch.Tensor, mixture: Mixture) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of each sample to its nearest mode, and that mode."""
    if samples.ndim != 2 or samples.shape[1] != mixture.centers.shape[1]:
        raise ValueError(f"samples must have shape (n, {mixture.centers.shape[1]}), "
                         f"got {tuple(samples.shape)}")
    dist = torch.cdist(samples.float(), mixture.centers.to(samples.device))
    return dist.min(dim=1)


def mode_histogram(samples: torch.Tensor, mixture: Mixture, k_std: float = HIGH_QUALITY_STD,
                   radius: float | None = None):
    """Nearest mode of each sample and whether it is high quality: within ``k_std`` std of
    it, or within ``radius`` when given."""
    d_min, nearest = _nearest_mode(samples, mixture)
    return nearest, d_min <= (k_std * mixture.std if radius is None else radius)


def wasserstein2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Exact W2 between two equal-weight point clouds (network simplex in POT).

    The squared-Euclidean cost matrix is built on the points' device through POT's torch
    backend (in float64; on the CPU for MPS, which has none); only the network simplex
    itself runs on the host.
    """
    device = torch.device("cpu") if x.device.type == "mps" else x.device
    M = ot.dist(x.to(device, torch.float64), y.to(device, torch.float64))
    return math.sqrt(max(float(ot.emd2([], [], M, numItermax=1_000_000)), 0.0))


def covered(nearest: torch.Tensor, near: torch.Tensor, n_modes: int) -> int:
    """Modes holding at least 20% of the ``near`` samples a perfect generator gives each."""
    counts = torch.bincount(nearest[near], minlength=n_modes)
    return int((counts >= 0.2 * len(nearest) / n_modes).sum())


@functools.lru_cache(maxsize=32)
def _w2_floor(centers: tuple, std: float, n: int, seed: int, repeats: int) -> float:
    mixture = Mixture("floor", torch.tensor(centers), std)
    gen = torch.Generator().manual_seed(seed)
    pairs = [(mixture.sample(n, generator=gen)[0], mixture.sample(n, generator=gen)[0])
             for _ in range(repeats)]
    return sum(wasserstein2(a, b) for a, b in pairs) / repeats


def w2_floor(mixture: Mixture, n: int, seed: int = 0, repeats: int = 3) -> float:
    """Mean W2 between two independent ``n``-point samples of the target (``repeats``
    pairs): what a perfect generator scores. Cached per mixture (its centres and std, so a
    rescaled or custom mixture gets its own floor) and ``n``."""
    centers = tuple(map(tuple, mixture.centers.detach().cpu().tolist()))
    return _w2_floor(centers, float(mixture.std), n, seed, repeats)


def mode_flags(samples: torch.Tensor,
               mixture: Mixture) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For every sample: its nearest mode, whether it is high quality (within 3 std of it)
    and whether it lies within the coverage radius of it."""
    d_min, nearest = _nearest_mode(samples, mixture)
    return (nearest, d_min <= HIGH_QUALITY_STD * mixture.std,
            d_min <= COVERAGE_RADIUS * spacing(mixture))


def counts_from_flags(nearest: torch.Tensor, hq: torch.Tensor, near: torch.Tensor,
                      n_modes: int) -> dict:
    """The counts a 2-D run's convergence is judged by (``readout.run_settled``), from the
    samples' :func:`mode_flags` (so that a resample of the same points is scored without
    measuring distances again): modes covered at 3 std (``modes``) and at the coverage
    radius (``modes_radius``), and the % of high-quality samples (``high_quality``); the
    same numbers as :func:`mode_metrics`."""
    return {"modes": covered(nearest, hq, n_modes), "modes_radius": covered(nearest, near, n_modes),
            "high_quality": 100.0 * float(hq.double().mean())}


def mode_metrics(samples: torch.Tensor, mixture: Mixture, n_w2: int = 2_000,
                 seed: int = 0) -> ModeMetrics:
    """Modes covered (3 std and radius rules), % high quality, KL of the mode histogram,
    W2 and its floor for 2-D samples."""
    nearest, hq, near = mode_flags(samples, mixture)
    m = len(mixture.centers)
    counts = torch.bincount(nearest[hq], minlength=m).double()
    p = counts / counts.sum().clamp_min(1)
    nz = p > 0
    kl = float((p[nz] * (p[nz] * m).log()).sum()) if counts.sum() > 0 else float("inf")
    gen = torch.Generator(device=mixture.device).manual_seed(seed)
    n = min(n_w2, len(samples))
    target, _ = mixture.sample(n, generator=gen)
    c = counts_from_flags(nearest, hq, near, m)
    return ModeMetrics(c["modes"], m, c["high_quality"], kl,
                       wasserstein2(samples[:n], target), c["modes_radius"],
                       w2_floor(mixture, n))
