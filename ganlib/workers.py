"""Independent runs on every CPU core: worker processes with one torch thread each.

A 2-D run is a stream of small matrix products; one core runs it nearly as fast as two
(``benchmarks/README.md``), so a grid of such runs finishes soonest with one run per core.
On a GPU the runs go one after another in this process, as before.

``GANLIB_WORKERS=n`` sets the number of processes (1: everything in this process). The
workers are started with "spawn", which imports the calling script again: a script that
runs a sweep must do so under ``if __name__ == "__main__":`` (``python -m ganlib sweep`` and
notebooks need nothing).
A run's numbers do not depend on which worker trains it: each seeds everything itself,
and every worker uses one thread.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def count(device: torch.device | str | None, n_runs: int) -> int:
    """Worker processes for ``n_runs`` runs on ``device``: ``GANLIB_WORKERS`` when set, else
    one per CPU core (at most one per run) on a CPU, and 1 on an accelerator."""
    text = os.environ.get("GANLIB_WORKERS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"GANLIB_WORKERS must be a positive integer, got {text!r}")
        return int(text)
    if device is not None and torch.device(device).type != "cpu":
        return 1
    return max(1, min(os.cpu_count() or 1, n_runs))


def _start_worker() -> None:
    torch.set_num_threads(1)
    os.environ["GANLIB_PROGRESS"] = "0"


def imap(fn: Callable[..., R], items: Iterable[T], workers: int,
         *args) -> Iterator[tuple[T, R]]:
    """``(item, fn(item, *args))`` for every item, in order of completion, computed by
    ``workers`` processes (in this process, in order, when ``workers`` is 1). ``fn`` must
    be importable (a module-level function). An error in a run is raised here, and the runs
    not yet started are cancelled."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield item, fn(item, *args)
        return
    # "spawn": a fork of a process whose torch thread pools are running can deadlock
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
    try:
        futures = {pool.submit(fn, item, *args): item for item in items}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
