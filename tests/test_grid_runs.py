"""GridRuns: the runs of a swept grid, read the way the chapters read them."""

import csv
import json

import pytest

from ganlib import data, readout, sweep
from ganlib.grid_runs import GridRuns, finished_rows, reproduced

GRID = {"loss": ["nonsaturating", "lsgan"], "data": "ring8", "seed": [0, 1], "steps": 16,
        "batch": 32, "n_eval": 256, "eval_every": 2}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    sweep.run(GRID, out, device="cpu", log=lambda *_: None)
    return out


def test_runs_group_a_grids_finished_rows_by_loss_data_and_seed(swept):
    runs = GridRuns(GRID, swept)
    assert len(runs) == 4
    assert runs.runs() == sorted((loss, "ring8", s) for loss in GRID["loss"] for s in (0, 1))
    assert runs.runs("lsgan") == [("lsgan", "ring8", 0), ("lsgan", "ring8", 1)]
    assert runs.runs(dataset="grid25") == [] and runs.runs(diverged=True) == []
    curve = runs.curve(("lsgan", "ring8", 1))
    assert [int(r["step"]) for r in curve] == list(range(2, 17, 2))
    assert all(r["loss"] == "lsgan" and r["seed"] == "1" for r in curve)
    assert runs.final(("lsgan", "ring8", 1)) is curve[-1] and sweep.is_final(curve[-1])
    assert runs.at(("lsgan", "ring8", 1), 8) is curve[3]
    assert len(runs.rows) == 4 * 8


def test_a_missing_run_or_step_is_a_clear_error(swept):
    runs = GridRuns(GRID, swept)
    with pytest.raises(ValueError, match="not scored at step 9 .*scored at 2, 4"):
        runs.at(("nonsaturating", "ring8", 0), 9)
    with pytest.raises(KeyError, match="no finished run .*hinge.*python -m ganlib sweep"):
        runs.curve(("hinge", "ring8", 0))


def test_rows_outside_the_grid_and_unfinished_cells_are_not_read(swept, tmp_path):
    # a grid that names one of the cells: the others' rows stay out
    one = GridRuns({**GRID, "loss": "lsgan", "seed": 0}, swept)
    assert one.runs() == [("lsgan", "ring8", 0)]
    # a cell whose final row is missing (cut off before it finished) is not a run
    with open(next(swept.glob("*.csv")), newline="") as f:
        rows = list(csv.DictReader(f))
    cut = [r for r in rows if not (r["loss"] == "lsgan" and r["seed"] == "0"
                                   and sweep.is_final(r))]
    with open(tmp_path / "shard-0-of-1.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(cut)
    (tmp_path / "samples").symlink_to(swept / "samples")
    partial = GridRuns(GRID, tmp_path)
    assert ("lsgan", "ring8", 0) not in partial.runs() and len(partial) == 3


def test_finished_rows_of_several_grids_swept_into_one_folder(swept, tmp_path):
    grids = [{**GRID, "loss": "lsgan"}, {**GRID, "loss": "nonsaturating", "seed": 1}]
    rows = finished_rows(grids, swept)
    assert sorted({(r["loss"], r["seed"]) for r in rows}) == [
        ("lsgan", "0"), ("lsgan", "1"), ("nonsaturating", "1")]
    assert len(rows) == 3 * 8 and all(r["n_eval"] == "256" for r in rows)
    # a grid read from its JSON file, alone, reads the same rows as the dict
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grids[0]))
    assert finished_rows(path, swept) == finished_rows(grids[0], swept)
    # a grid of other steps names other cells: nothing of this folder is read
    assert finished_rows({**GRID, "steps": 32}, swept) == []


def test_settled_and_noise_are_the_readout_rules_on_the_stored_run(swept):
    runs = GridRuns(GRID, swept, trials=20)
    run = ("nonsaturating", "ring8", 1)
    assert runs.every(16) == 2 and runs.every(8) == 2 and GridRuns(
        {**GRID, "eval_every": 4}, swept).every(64) == 8
    noise = readout.rule_noise(sweep.stored_samples(swept, runs.final(run)), data.ring8(),
                               n_eval=256, trials=20)
    assert runs.noise(run) == noise and runs.noise(run) is runs.noise(run)  # measured once
    for budget in (8, 16):
        assert runs.settled(run, budget) == readout.settled_at(runs.curve(run), budget, 2)
        assert runs.settled(run, budget, within_noise=True) == readout.settled_at(
            runs.curve(run), budget, 2, tolerances=noise.tolerances)
    # settled within noise is never stricter than the plain rule
    for r in runs.runs():
        assert runs.settled(r, 16, within_noise=True) >= runs.settled(r, 16)
    assert runs.samples(run).shape == (256, 2)


def test_full_coverage_of_a_results_row():
    row = {"modes": "8", "total_modes": "8", "high_quality": "80.0"}
    assert readout.full_coverage_row(row)
    assert not readout.full_coverage_row({**row, "high_quality": "79.9"})
    assert not readout.full_coverage_row({**row, "modes": "7"})


def test_most_settled_counts_a_losss_runs(swept, monkeypatch):
    runs = GridRuns(GRID, swept, trials=20)
    for loss in GRID["loss"]:
        for within in (False, True):
            n = sum(runs.settled(r, 16, within) for r in runs.runs(loss))
            assert runs.most_settled(loss, "ring8", 16, within) == (n == 2)
    # one of two runs settled is not most; a diverged run never counts as settled
    flags = {("lsgan", "ring8", 0): True, ("lsgan", "ring8", 1): False}
    monkeypatch.setattr(runs, "settled", lambda run, budget, within_noise=False: flags[run])
    assert not runs.most_settled("lsgan", "ring8", 16)
    flags[("lsgan", "ring8", 1)] = True
    assert runs.most_settled("lsgan", "ring8", 16)
    monkeypatch.setattr(runs, "diverged", lambda run: run[2] == 1)
    assert not runs.most_settled("lsgan", "ring8", 16)
    with pytest.raises(KeyError, match="no finished run of hinge on ring8"):
        runs.most_settled("hinge", "ring8", 16)


def test_tally_and_compare_read_two_losses_seed_by_seed(swept):
    from ganlib import grid_runs, stats
    from ganlib.search import search_score

    runs = GridRuns(GRID, swept, trials=20)
    t = runs.tally("lsgan", "ring8", 8)
    at = [runs.at(r, 8) for r in runs.runs("lsgan")]
    assert t["modes"] == [int(r["modes"]) for r in at] and t["n"] == 2
    assert t["score"] == [search_score(r) for r in at]
    assert t["full"] == sum(readout.full_coverage_row(r) for r in at)
    assert t["settled"] == sum(runs.settled(r, 8, within_noise=True) for r in runs.runs("lsgan"))
    both = grid_runs.compare({"a": (runs, "nonsaturating"), "b": (runs, "lsgan")}, 8,
                             datasets=("ring8",))
    assert both["tallies"]["ring8"]["b"] == t
    assert both["p"]["ring8"] == stats.pvalue(both["tallies"]["ring8"]["a"]["score"],
                                              t["score"])
    assert both["holm"] == stats.holm(both["p"])
    with pytest.raises(ValueError, match="two sides"):
        grid_runs.compare({"a": (runs, "lsgan")}, 8)
    with pytest.raises(KeyError, match="no finished run of hinge"):
        runs.tally("hinge", "ring8", 8)


def test_tally_row_is_one_side_of_a_comparison_as_a_table_row():
    from ganlib import grid_runs

    tally = {"modes": [8, 7], "high_quality": [91.4, 60.6], "full": 1, "settled": 2, "n": 2,
             "score": [0.9, 0.5]}
    row = grid_runs.tally_row(tally, 0.0123, 0.0246, p_label="p (b against a)")
    assert row == {"covered modes per seed": "8 7", "high quality % per seed": "91 61",
                   "full coverage": "1/2", "settled within noise": "2/2", "mean score": "0.70",
                   "p (b against a)": "0.012", "p, Holm": "0.025"}
    assert list(row)[-2:] == ["p (b against a)", "p, Holm"]


def _change(folder, seed: int, step: int, key: str, to) -> None:
    """Rewrite one value of the one CSV a small sweep left in ``folder``: ``key`` of the row
    of ``seed`` at ``step`` becomes ``to(old value)``."""
    path = next(folder.glob("*.csv"))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    hit = next(r for r in rows if r["seed"] == str(seed) and r["step"] == str(step))
    hit[key] = to(hit[key])
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_reproduced_compares_a_grid_trained_again_evaluation_by_evaluation(swept, tmp_path):
    again = tmp_path / "again"
    sweep.run({**GRID, "loss": "lsgan"}, again, device="cpu", log=lambda *_: None)
    same = reproduced(GridRuns(GRID, swept), GridRuns(GRID, again))  # lsgan's two runs
    assert same["runs"] == [("lsgan", "ring8", 0), ("lsgan", "ring8", 1)]
    assert same["differ"] == {} and same["identical"] == same["runs"]
    assert all(s > 0 for s in same["seconds"])
    # one number changed at step 6 of one cell: that cell differs from step 6 on
    _change(again, seed=1, step=6, key="w2", to=lambda v: str(float(v) + 1e-9))
    changed = reproduced(GridRuns(GRID, swept), GridRuns(GRID, again))
    assert changed["differ"] == {("lsgan", "ring8", 1): 6}
    assert changed["identical"] == [("lsgan", "ring8", 0)]


def test_reproduced_compares_a_longer_grid_with_a_shorter_one_up_to_a_step(swept, tmp_path):
    """A grid of the same seeds and settings trained for longer is the shorter grid's runs
    over the steps both ran: ``until`` compares those and ignores the rest."""
    longer = {**GRID, "loss": "lsgan", "steps": 20}
    out = tmp_path / "longer"
    sweep.run(longer, out, device="cpu", log=lambda *_: None)
    short, long = GridRuns(GRID, swept), GridRuns(longer, out)
    assert reproduced(short, long)["identical"] == []  # steps 18 and 20 are only in one
    both = reproduced(short, long, until=14)
    assert both["identical"] == both["runs"] == [("lsgan", "ring8", 0), ("lsgan", "ring8", 1)]
    # a run of the longer grid whose step-16 evaluation differs, though its last step is 20
    _change(out, seed=0, step=16, key="modes", to=lambda v: str(int(v) + 1))
    changed = reproduced(short, GridRuns(longer, out), until=16)
    assert changed["differ"] == {("lsgan", "ring8", 0): 16}
    assert reproduced(short, GridRuns(longer, out), until=14)["differ"] == {}
