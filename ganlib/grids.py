"""Grids: what a sweep's grid may hold, checked and expanded into cells (the keys are
described in :mod:`ganlib.sweep`, which re-exports everything here).

:func:`load_grid` reads a grid's JSON file, :func:`expand` crosses its lists into cells
(every value checked, a ValueError naming the first bad one), :func:`check_data` loads what
the cells train on before the first one runs, and :func:`parse_shard` reads ``i/n``.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

from ganlib import config, data, settings
from ganlib.shards import KEYS, OPTIONS, parse_params

DATASETS = ("ring8", "grid25", "fashion-mnist")
DEFAULTS = {"steps": 2_000, "batch": 256, "lr": None, "n_eval": 10_000}
PER_LOSS = ("lr_x", "d_updates")  # grid keys resolved per loss into lr and steps


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(key: str, value):
    """``value`` of grid key ``key``, normalised (lr as a float), or a ValueError."""
    from ganlib import losses

    if key == "loss" and value not in losses.names():
        raise ValueError(f"unknown loss {value!r}; known losses: {', '.join(losses.names())}")
    if key == "data" and value not in DATASETS:
        raise ValueError(f"unknown data {value!r}: use one of {DATASETS}")
    if key == "seed" and not (_is_int(value) and 0 <= value <= config.SEED_MAX):
        raise ValueError(f"seed must be an integer in 0..{config.SEED_MAX}, got {value!r}")
    if key in ("steps", "batch", "n_eval") and not (_is_int(value) and value >= 1):
        raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
    if key == "pair" and value not in ("image", "image-small"):
        raise ValueError(f"unknown pair {value!r}: use 'image' or 'image-small'")
    if key == "lr":
        if value is None:
            return None
        if not (_is_number(value) and math.isfinite(value) and value >= 0):
            raise ValueError(f"lr must be a number >= 0 (or null for each loss's default), "
                             f"got {value!r}")
        return float(value)
    if key == "settings" and value not in (None, "paper"):
        raise ValueError(f"settings {value!r}: use 'paper' for the papers' values, or leave it "
                         "out for the settings that fit the data")
    if key == "ema" and value is not None and not (_is_number(value) and 0 <= value < 1):
        raise ValueError(f"ema must be a decay in [0, 1) (0: score G itself), got {value!r}")
    if key == "eval_every" and value is not None and not (_is_int(value) and value >= 1):
        raise ValueError(f"eval_every must be an integer >= 1, got {value!r}")
    if key == "lr_decay" and value is not None and not (_is_number(value) and 0 < value <= 1):
        raise ValueError(f"lr_decay must be a fraction of the steps in (0, 1] (leave it out "
                         f"for constant rates), got {value!r}")
    if key == "lr_d_x" and value is not None and not (_is_number(value) and math.isfinite(value)
                                                       and value > 0):
        raise ValueError(f"lr_d_x must be a positive number (the discriminator's learning rate "
                         f"as a multiple of the generator's), got {value!r}")
    if key == "lr_d_x" and value == 1:
        return None  # equal rates: a cell holds none, as cells written before lr_d_x existed
    if key == "params" and value is not None:
        return format_params(value)
    return value


def format_params(params: dict) -> str:
    """A grid's ``params`` (keywords of the loss, e.g. ``{"k": 0}``) as the text a cell and
    its CSV rows hold: ``"k=0"``, keys sorted, so the same overrides are the same cell."""
    if isinstance(params, str):  # a cell's own text, read back from a CSV
        params = parse_params(params)
    if not isinstance(params, dict) or not params:
        raise ValueError(f"params must be an object of the loss's keywords, e.g. "
                         f"{{\"k\": 0}}, got {params!r}")
    for k, v in params.items():
        if not (isinstance(k, str) and k.isidentifier()) or not (
                _is_number(v) and math.isfinite(v) or isinstance(v, str) and v.isidentifier()):
            raise ValueError(f"params: {k!r}: {v!r} is not a keyword with a finite number "
                             "or a word as its value")
    return ",".join(f"{k}={params[k]}" for k in sorted(params))


def _check_params(cell: dict) -> None:
    """A cell's ``params`` are keywords its loss takes (a ValueError names the bad one)."""
    try:
        settings.objective(cell["loss"], cell["data"], pair=cell.get("pair"),
                           **parse_params(cell["params"]))
    except (TypeError, ValueError) as e:
        raise ValueError(f"params {cell['params']!r} do not fit loss {cell['loss']!r}: "
                         f"{e}") from None


def expand(grid: dict) -> list[dict]:
    """All cells of ``grid`` (list values crossed, in key order), with defaults filled in.

    Every value is checked (a ValueError names the first bad one) and repeated values of a
    key count once, so no cell appears twice.
    """
    if not isinstance(grid, dict):
        raise ValueError(f"a grid is a JSON object such as {{\"loss\": [\"hinge\"], \"data\": "
                         f"\"ring8\", \"seed\": [0, 1]}}, got a {type(grid).__name__}")
    unknown = set(grid) - set(KEYS) - set(OPTIONS) - set(PER_LOSS)
    if unknown:
        raise ValueError(f"unknown grid keys {sorted(unknown)}: use "
                         f"{KEYS + OPTIONS + PER_LOSS}")
    lrs, steps = _lr_rule(grid), _steps_rule(grid)
    if lrs is not None or steps is not None:  # values per loss and data set: cell by cell
        rest = {k: v for k, v in grid.items() if k not in ("lr_x", "d_updates")
                and not (k == "lr" and lrs is not None)}
        cells = []
        for loss in _values(rest, "loss"):
            for name in _values(rest, "data"):
                _check("loss", loss)
                _check("data", name)
                per_loss = {"loss": loss, "data": name}
                if lrs is not None:
                    per_loss["lr"] = lrs(loss, name)
                if grid.get("lr") == "settings":
                    per_loss.update(_settings_params(rest, loss, name))
                if steps is not None:
                    per_loss["steps"] = steps(loss, name)
                cells += expand({**rest, **per_loss})
        return cells
    for key in ("loss", "data", "seed"):
        if key not in grid:
            raise ValueError(f"the grid needs {key!r}")
    grid = {**DEFAULTS, **grid}
    axes = {}
    for key in KEYS + tuple(k for k in OPTIONS if k in grid):
        values = grid[key] if isinstance(grid[key], list) else [grid[key]]
        if not values:
            raise ValueError(f"grid key {key!r} has an empty list")
        axes[key] = list(dict.fromkeys(_check(key, v) for v in values))  # drops repeats
    cells = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    for cell in cells:
        if cell.get("params"):
            _check_params(cell)
    return cells


def _settings_params(grid: dict, loss: str, name: str) -> dict:
    """``{"params": [...]}`` that holds the settings' ``n_critic`` where it is not the loss's
    own, and ``{"lr_d_x": ...}`` the settings' ratio of the two learning rates where it is not
    1 (``"lr": "settings"``), so that a cell trained before the settings changed them is not
    mistaken for one trained after; ``{}`` where they are the loss's own or the grid sets
    them."""
    from ganlib import losses

    objective = settings.objective(loss, name, pair=grid.get("pair"))
    out = {"lr_d_x": objective.lr_d_x} if objective.lr_d_x != 1 and "lr_d_x" not in grid \
        else {}
    n = objective.n_critic
    if n == losses.get(loss).n_critic:
        return out
    given = grid.get("params")
    given = given if isinstance(given, list) else [given]
    given_out = []
    for p in given:
        p = parse_params(p) if isinstance(p, str) else p or {}
        given_out.append({**p, "n_critic": n} if isinstance(p, dict) and "n_critic" not in p
                         else p)
    return {**out, "params": given_out}


def _lr_rule(grid: dict):
    """``lrs(loss, data) -> [learning rates]`` for a grid whose learning rates depend on the
    loss (``lr_x``, ``"lr": "settings"``), None for one that gives them outright."""
    from ganlib import losses

    if grid.get("lr") == "settings":
        return lambda loss, name: [settings.objective(loss, name, pair=grid.get("pair")).lr]
    if "lr_x" not in grid:
        return None
    if "lr" in grid:
        raise ValueError("give the grid either lr or lr_x (multiples of each loss's paper "
                         "learning rate), not both")
    factors = grid["lr_x"] if isinstance(grid["lr_x"], list) else [grid["lr_x"]]
    if not factors or not all(_is_number(f) and math.isfinite(f) and f > 0 for f in factors):
        raise ValueError(f"lr_x must be positive numbers, got {grid['lr_x']!r}")
    return lambda loss, name: [round(losses.get(loss).lr * f, 12) for f in factors]


def _steps_rule(grid: dict):
    """``steps(loss, data)`` for a grid that gives ``d_updates`` (discriminator updates,
    the same for every loss: ``d_updates // n_critic`` generator steps), else None."""
    if "d_updates" not in grid:
        return None
    if "steps" in grid:
        raise ValueError("give the grid either steps or d_updates (discriminator updates, "
                         "the same for every loss), not both")
    d = grid["d_updates"]
    if not (_is_int(d) and d >= 1):
        raise ValueError(f"d_updates must be an integer >= 1, got {d!r}")

    def steps(loss, name):
        return config.generator_steps(
            d, settings.objective(loss, name, pair=grid.get("pair")).n_critic)

    return steps


def _values(grid: dict, key: str) -> list:
    """A grid key's values as a list without repeats (a key is required)."""
    if key not in grid:
        raise ValueError(f"the grid needs {key!r}")
    value = grid[key]
    return list(dict.fromkeys(value if isinstance(value, list) else [value]))


def check_data(cells: list[dict]) -> None:
    """Load the datasets that ``cells`` train on, so a missing or corrupt file is found
    before the first cell runs (the generated mixtures need nothing)."""
    if any(c["data"] == "fashion-mnist" for c in cells):
        data.fashion_mnist("train")


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), checking 0 <= i < n."""
    try:
        i, n = (int(t) for t in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard {text}: need 0 <= i < n")
    return i, n


def load_grid(path: str | Path) -> dict:
    """The grid in the JSON file ``path``; a ValueError says what is wrong with the file."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give the grid's JSON file")
    if not path.is_file():
        raise ValueError(f"{path}: no such grid file")
    try:
        grid = json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not valid JSON: it is not text") from None
    if not isinstance(grid, dict):
        raise ValueError(f"{path} holds a JSON {type(grid).__name__}, not an object; a grid "
                         'looks like {"loss": ["hinge"], "data": "ring8", "seed": [0, 1]}')
    return grid
