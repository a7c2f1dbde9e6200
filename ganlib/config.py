"""Profiles, device choice, seeding and the run card.

A *profile* is a named set of run sizes. ``quick`` keeps every notebook to
seconds on a laptop CPU (it is what CI runs: it shows that the code runs, not what a loss
does); ``cpu`` is the run a reader's laptop finishes in minutes per chapter (its budgets
are set by measured convergence); ``full`` is the reference run on a GPU (the
collections' networks and batch: 9,370 generator steps of batch 64 on Fashion-MNIST, ten
epochs, where the collections train for 25 to 50).
``auto`` picks ``full`` when a GPU is present and ``cpu`` otherwise. The environment
variable ``GANLIB_PROFILE`` overrides the notebook parameter, so
``GANLIB_PROFILE=quick pytest --nbval-lax`` runs every chapter small.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch


def kv_table(title: str, pairs: dict) -> str:
    """A two-column Markdown table (how profiles, objectives and run cards display)."""
    rows = [f"| {k} | {v} |" for k, v in pairs.items()]
    return f"| {title} | |\n|---|---|\n" + "\n".join(rows)


def generator_steps(d_updates: int, n_critic: int) -> int:
    """Generator steps that give a loss with ``n_critic`` critic updates per generator step
    ``d_updates`` discriminator updates (at least one step): the rule that gives every loss
    the same discriminator updates, in profiles and in sweep grids alike."""
    return max(1, d_updates // n_critic)


@dataclass(frozen=True)
class Profile:
    """Sizes of one run. Chapters read these instead of hard-coding numbers."""

    name: str
    steps_2d: int  # generator steps on ring8 / grid25
    batch_2d: int
    steps_image: int  # generator steps on Fashion-MNIST
    batch_image: int
    n_eval_2d: int  # samples drawn for the 2-D metrics
    n_eval_image: int  # samples drawn for the image metrics
    seeds: int  # seeds per setting where a chapter repeats runs
    image_pair: str = "image"  # the image networks: "image" (InfoGAN paper) or "image-small"
    # True: an image run of a loss with n_critic > 1 gets steps_image // n_critic generator
    # steps, so that every loss's image run has the same discriminator updates (about the
    # same CPU time); False: steps_image generator steps for every loss
    image_equal_d_updates: bool = False

    def image_steps(self, n_critic: int = 1) -> int:
        """Generator steps of an image run of a loss with ``n_critic`` critic updates per
        generator step (see ``image_equal_d_updates``)."""
        if self.image_equal_d_updates:
            return generator_steps(self.steps_image, n_critic)
        return self.steps_image

    def _repr_markdown_(self) -> str:
        sizes = {k: (f"{v:,}" if type(v) is int else v) for k, v in asdict(self).items()
                 if k != "name"}
        return kv_table(f"profile `{self.name}`", sizes)


PROFILES = {
    # quick: 500 samples scored, since the exact W2 of 2,000 took most of a quick run
    "quick": Profile("quick", steps_2d=300, batch_2d=256, steps_image=30, batch_image=64,
                     n_eval_2d=500, n_eval_image=500, seeds=2, image_pair="image-small",
                     image_equal_d_updates=True),
    # the run that fits a CPU: the 2-D budget from the convergence curves
    # (notebooks/results/search/convergence-rerun), the image budget from the image-pair study
    # (notebooks/results/image-pair: the small pair meets the image targets by 6,000 steps)
    "cpu": Profile("cpu", steps_2d=8_000, batch_2d=256, steps_image=6_000, batch_image=64,
                   n_eval_2d=5_000, n_eval_image=10_000, seeds=2, image_pair="image-small",
                   image_equal_d_updates=True),
    "full": Profile("full", steps_2d=10_000, batch_2d=256, steps_image=9_370, batch_image=64,
                    n_eval_2d=10_000, n_eval_image=10_000, seeds=5),
}


def get_profile(name: str | None = "auto") -> Profile:
    """Return the profile called ``name``; ``GANLIB_PROFILE`` wins when set.

    ``"auto"`` (or ``None``) means ``full`` on a CUDA machine, ``cpu`` otherwise.
    """
    name = os.environ.get("GANLIB_PROFILE") or name or "auto"
    if name == "auto":
        name = "full" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r}: use one of {sorted(PROFILES)} or 'auto' "
            "(set it in the notebook's parameters cell or with GANLIB_PROFILE)"
        )
    return PROFILES[name]


def on_colab() -> bool:
    """True inside Google Colab, where chapters may download Fashion-MNIST."""
    import sys

    return "google.colab" in sys.modules


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: the one asked for, else CUDA when present, else CPU.

    A device asked for is checked to exist on this machine (a tensor is made on it), so a
    typo or a missing GPU is a clear ValueError before any work starts.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps") from None
    if device.type == "meta":
        raise ValueError("device 'meta' holds no data and cannot train; use cpu or cuda")
    try:
        torch.zeros(1, device=device)
    except Exception:  # not compiled in, no such index, no driver: all mean "not here"
        have = "cpu" + (f", cuda:0..{torch.cuda.device_count() - 1}"
                        if torch.cuda.is_available() else "")
        raise ValueError(f"device {str(device)!r} is not available on this machine (it has: "
                         f"{have}); choose one of those") from None
    return device


SEED_MAX = 2**32 - 1  # the largest seed NumPy's legacy generator (seeded below) accepts


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU generator with that seed."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global RNG is what user code reads)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def _cpu_name() -> str:
    """The CPU's model and the widest vector instructions PyTorch uses on it (for example
    "AMD EPYC, AVX512"): CPUs of one family differ severalfold in speed by these."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return ", ".join(x for x in (model, torch.backends.cpu.get_cpu_capability()) if x)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass
class RunCard:
    """What a reader needs to reproduce a chapter's numbers."""

    profile: str
    seed: int
    device: str
    torch: str
    ganlib: str
    python: str
    platform: str
    commit: str | None
    started: str
    wall_time_s: float | None = None
    load_at_end: str | None = None
    extra: dict = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def finish(self) -> RunCard:
        """Stop the clock; record the machine's load averages (where the system has them),
        so that a wall time measured on a machine busy with other work says so: averages
        above the chapter's own share of the cores mean that other processes ran beside it."""
        self.wall_time_s = round(time.perf_counter() - self._t0, 1)
        if hasattr(os, "getloadavg"):
            loads = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            self.load_at_end = f"{loads} (1, 5, 15 min; {os.cpu_count()} cores)"
        return self

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("_t0")
        return d

    def _repr_markdown_(self) -> str:
        card = self.as_dict()
        return kv_table("run card", {k: v for k, v in card.items() if k != "extra"}
                        | self.extra)


def run_card(profile: Profile | str, seed: int, device: torch.device | str | None = None,
             **extra) -> RunCard:
    """Start a run card now; call ``.finish()`` at the end of the chapter for the wall time."""
    from ganlib import __version__

    device = get_device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()
    return RunCard(
        profile=profile if isinstance(profile, str) else profile.name,
        seed=seed,
        device=f"{device.type} ({name or platform.machine()}, {os.cpu_count()} CPU cores)",
        torch=torch.__version__,
        ganlib=__version__,
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        commit=_git_commit(),
        started=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        extra=extra,
    )
