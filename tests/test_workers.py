"""Sweeps on several cores: worker processes give the rows one process gives."""

import pytest

from ganlib import sweep, workers

GRID = {"loss": ["nonsaturating", "hinge"], "data": "ring8", "seed": [0, 1], "steps": 3,
        "batch": 32, "n_eval": 200}


def test_two_workers_write_the_rows_one_process_writes(tmp_path):
    alone = sweep.read_rows(sweep.run(GRID, tmp_path / "one", device="cpu", workers=1,
                                      log=lambda *_: None))
    logs = []
    both = sweep.read_rows(sweep.run(GRID, tmp_path / "two", device="cpu", workers=2,
                                     log=logs.append))
    assert len(logs) == 1 + 4 and logs[0].startswith("shard 0/1: 4 cells to run")
    a = {sweep.cell_key(r): r for r in alone}
    b = {sweep.cell_key(r): r for r in both}
    assert a.keys() == b.keys() and len(a) == 4
    for key in a:
        for metric in sweep.METRICS_2D:
            assert a[key][metric] == b[key][metric], (key, metric)


def test_worker_count(monkeypatch):
    monkeypatch.delenv("GANLIB_WORKERS", raising=False)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    assert workers.count("cpu", 10) == 2 and workers.count("cpu", 1) == 1
    assert workers.count("meta", 10) == 1  # accelerators run one cell at a time
    monkeypatch.setenv("GANLIB_WORKERS", "3")
    assert workers.count("cpu", 10) == 3
    monkeypatch.setenv("GANLIB_WORKERS", "two")
    with pytest.raises(ValueError, match="GANLIB_WORKERS must be a positive integer"):
        workers.count("cpu", 10)


def _fails(item):
    if item == 2:
        raise RuntimeError("cell 2 failed")
    return item * 10


def test_an_error_in_a_worker_is_raised_in_the_caller():
    assert dict(workers.imap(_fails, [0, 1], 1)) == {0: 0, 1: 10}
    with pytest.raises(RuntimeError, match="cell 2 failed"):
        dict(workers.imap(_fails, [0, 1, 2, 3], 2))
