"""What a training run leaves behind: its :class:`History` (statistics per step, sample
snapshots, wall time) and its checkpoints, written whole and read back only when they are
a complete checkpoint of the same loss, networks, data and batch size.
"""

from __future__ import annotations

import json
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganlib.objective import Objective

CHECKPOINT_FORMAT = 1


class TrainingDiverged(RuntimeError):
    """Raised when a loss or a weight becomes NaN or infinite."""


@dataclass
class History:
    """What happened during training: one row of statistics per step, sample snapshots every
    ``sample_every`` steps and at the end."""

    loss: str = ""
    steps: list[int] = field(default_factory=list)
    stats: dict[str, list[float]] = field(default_factory=dict)
    samples: dict[int, torch.Tensor] = field(default_factory=dict)
    wall_time: list[tuple[int, float]] = field(default_factory=list)
    path: str = "eager"  # how the steps ran: "eager", "cuda-graph" or "vmap" (ganlib.ensemble)
    diverged: str = ""  # why the run stopped early (ganlib.ensemble records it, fit raises)

    def __getitem__(self, key: str) -> np.ndarray:
        if key == "step":
            return np.asarray(self.steps)
        return np.asarray(self.stats[key], dtype=float)

    @property
    def seconds(self) -> float:
        return self.wall_time[-1][1] if self.wall_time else 0.0

    def to_dict(self) -> dict:
        """Plain types only, so checkpoints load with ``weights_only=True``."""
        return {"loss": self.loss, "steps": list(self.steps),
                "stats": {k: list(v) for k, v in self.stats.items()},
                "samples": {int(k): v.cpu() for k, v in self.samples.items()},
                "wall_time": [list(t) for t in self.wall_time], "path": self.path,
                "diverged": self.diverged}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(d["loss"], list(d["steps"]), {k: list(v) for k, v in d["stats"].items()},
                   dict(d["samples"]), [tuple(t) for t in d["wall_time"]], d["path"],
                   d.get("diverged", ""))

    def save_json(self, path: str | Path) -> None:
        d = self.to_dict()
        d.pop("samples")
        Path(path).write_text(json.dumps(d))


def _archs(G: nn.Module, D: nn.Module, objective: Objective) -> dict:
    nets = {"G": G, "D": D, **objective.extra_modules()}
    return {name: {k: list(v.shape) for k, v in m.state_dict().items()}
            for name, m in nets.items()}


def save_checkpoint(path, step: int, G, D, objective: Objective, opt_d, opt_g,
                    history: History, run: dict | None = None) -> None:
    """Write everything needed to resume exactly: models, optimisers, RNG, objective state,
    and ``run`` (the data's name and the batch size, which a resumed run must share)."""
    state = {
        "format": CHECKPOINT_FORMAT, "loss": objective.name, "step": step,
        "run": dict(run or {}),
        "arch": _archs(G, D, objective),
        "G": G.state_dict(), "D": D.state_dict(),
        "extra": {k: m.state_dict() for k, m in objective.extra_modules().items()},
        "objective": objective.state_dict(),
        "opt_d": opt_d.state_dict(), "opt_g": opt_g.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "history": history.to_dict(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


_KEYS = ("loss", "step", "arch", "G", "D", "extra", "objective", "opt_d", "opt_g", "rng_cpu",
         "rng_cuda", "history")


def read_checkpoint(path) -> dict:
    """The contents of a checkpoint written by ``fit``, loaded with ``weights_only=True``;
    a ValueError naming the file for anything else (empty, truncated, a directory, random
    bytes, a pickle of Python objects, another format)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a checkpoint file")
    if not path.exists():
        raise ValueError(f"{path}: no such checkpoint")
    try:
        with warnings.catch_warnings():  # the unpickler warns about files it then refuses
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # whatever the bytes are, they are not a checkpoint of ours
        why = ("an empty file" if path.stat().st_size == 0 else
               "it holds Python objects, or bytes that are not a PyTorch file"
               if isinstance(e, pickle.UnpicklingError) else "truncated or corrupt")
        raise ValueError(f"{path} is not a readable ganlib checkpoint ({why}); delete it or "
                         "point to another checkpoint") from None
    if not isinstance(state, dict) or state.get("format") is None:
        raise ValueError(f"{path} is a PyTorch file but not a ganlib checkpoint")
    if state["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: checkpoint format {state['format']} is not "
                         f"{CHECKPOINT_FORMAT}; it was written by another ganlib version")
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise ValueError(f"{path} is not a complete ganlib checkpoint (no {', '.join(missing)})")
    return state


def run_record(data, batch_size: int) -> dict:
    """What a resumed run must share with its checkpoint besides the networks."""
    return {"data": getattr(data, "name", type(data).__name__), "batch_size": batch_size}


def check_resume(path, state: dict, run: dict, steps: int | None = None) -> None:
    """Refuse to continue checkpoint ``state`` (from ``read_checkpoint(path)``) with another
    ``run`` record (data, batch size) or up to fewer ``steps`` than it has trained."""
    for key, value in run.items():
        recorded = state.get("run", {}).get(key)
        if recorded is not None and recorded != value:
            what = key.replace("_", " ")
            raise ValueError(f"{path}: the checkpoint was trained with {what} {recorded}, not "
                             f"{value}; resume with the same {what}")
    if steps is not None and state["step"] > steps:
        raise ValueError(f"{path}: the checkpoint is at step {state['step']}, beyond the "
                         f"{steps} steps asked for; ask for {state['step']} steps or more")


def load_checkpoint(path, G, D, objective: Objective, opt_d=None, opt_g=None,
                    run: dict | None = None, steps: int | None = None):
    """Load a checkpoint written by ``fit``; refuse one from another loss, net or format, one
    holding non-finite weights, and (see ``check_resume``) one recording another ``run`` or
    more than ``steps`` steps."""
    state = read_checkpoint(path)
    check_resume(path, state, run or {}, steps)
    if state["loss"] != objective.name:
        raise ValueError(f"{path}: checkpoint is for loss {state['loss']!r}, "
                         f"not {objective.name!r}")
    for name, shapes in _archs(G, D, objective).items():
        if state["arch"].get(name) != shapes:
            raise ValueError(f"{path}: the {name} in the checkpoint has another architecture "
                             "(parameter names or shapes differ); build the same networks")
    weights = [state["G"], state["D"], *state["extra"].values()]
    if not all(torch.isfinite(t).all() for w in weights for t in w.values()
               if t.is_floating_point()):
        raise ValueError(f"{path} holds non-finite weights (the run diverged before it was "
                         "saved); resume from an earlier checkpoint or train anew")
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    for k, m in objective.extra_modules().items():
        m.load_state_dict(state["extra"][k])
    objective.load_state_dict(state["objective"])
    if opt_d is not None:
        opt_d.load_state_dict(state["opt_d"])
        opt_g.load_state_dict(state["opt_g"])
    torch.set_rng_state(state["rng_cpu"])
    if state["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    return state["step"], History.from_dict(state["history"])
