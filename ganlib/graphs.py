"""The CUDA-graph path of :func:`ganlib.train.fit`: one training step recorded as a CUDA graph
and replayed, with the optimisers in ``capturable`` mode (their step counters on the device).
Where recording fails (a host sync, a host tensor, an unsupported operation, an objective that
keeps state in Python) :func:`capture` puts everything back and says why, and ``fit`` runs the
same step eagerly.
"""

from __future__ import annotations

import warnings

import torch

from ganlib.objective import Objective

GRAPH_WARMUP = 3  # eager steps on a side stream before a CUDA graph is recorded


def stack(row: dict[str, torch.Tensor]) -> torch.Tensor:
    """A step's statistics as one float tensor (what a replayed graph leaves in place)."""
    return torch.stack([v.float() for v in row.values()])


def set_capturable(opt: torch.optim.Optimizer, on: bool) -> None:
    """Put the optimiser (and a loaded state's step counters) in or out of capturable mode."""
    for group in opt.param_groups:
        group["capturable"] = on
        for p in group["params"]:
            state = opt.state.get(p, {})
            if torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(p.device if on else "cpu", torch.float32)


def _python_state(objective: Objective) -> list[int]:
    """Identities of the objective's attributes (and of their dict entries): a step that
    rebinds any of them keeps state in Python, which replaying a graph would not update."""
    ids = []
    for v in vars(objective).values():
        ids += [id(v)] + ([id(x) for x in v.values()] if isinstance(v, dict) else [])
    return ids


def capture(step_fn, objective: Objective):
    """Record one step as a CUDA graph: ``(graph, static stats row, keys)``, or None.

    Recording runs nothing on the device, so after a failed attempt the networks and
    optimisers are as they were; the random generator and Python-side state are put back.
    """
    saved, before = dict(vars(objective)), _python_state(objective)
    stream, rng = torch.cuda.current_stream(), torch.cuda.get_rng_state()
    generator = torch.cuda.default_generators[torch.cuda.current_device()]
    # a copy of the generator's state that is not being recorded (PyTorch >= 2.4)
    unrecorded = generator.clone_state() if hasattr(generator, "clone_state") else None
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            row = step_fn()
            static = stack(row)
    except Exception as e:  # a sync, a host tensor, an unsupported op: all mean "run eagerly"
        reason = f"{type(e).__name__}: {e}"
    else:
        if _python_state(objective) == before:
            return graph, static, list(row)
        reason = "the objective rebinds Python-side state each step"
    torch.cuda.set_stream(stream)
    torch.cuda.synchronize()
    if unrecorded is not None:
        # A recording that fails part-way leaves the generator marked as recording (seen
        # with PyTorch 2.11): every later random draw on the device then raises "Offset
        # increment outside graph capture". Its state from before the attempt is clean.
        generator.graphsafe_set_state(unrecorded)
    torch.cuda.set_rng_state(rng)
    vars(objective).clear()
    vars(objective).update(saved)
    warnings.warn(f"{objective.name}: cannot record the training step as a CUDA graph "
                  f"({reason}); training eagerly", stacklevel=3)
    return None
