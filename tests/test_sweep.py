"""The sweep runner: grids, shards that split a grid without overlap, resuming, merging, the
confidence intervals and ranks of the comparison chapter, and the command line."""

import csv
import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganlib import sweep
from ganlib.__main__ import main

TINY = {"loss": ["nonsaturating", "lsgan"], "data": "ring8", "seed": [0, 1], "steps": 4,
        "batch": 32, "n_eval": 256}


def test_expand_crosses_lists_fills_defaults_and_refuses_bad_grids():
    cells = sweep.expand({"loss": ["nonsaturating", "hinge"], "data": ["ring8", "grid25"],
                          "seed": [0, 1, 2]})
    assert len(cells) == 12
    assert len({sweep.cell_key(c) for c in cells}) == 12
    assert all(c["steps"] == sweep.DEFAULTS["steps"] and c["lr"] is None for c in cells)
    with pytest.raises(ValueError, match="unknown loss 'gan'"):
        sweep.expand({"loss": "gan", "data": "ring8", "seed": 0})
    with pytest.raises(ValueError, match="unknown data"):
        sweep.expand({"loss": "hinge", "data": "mnist", "seed": 0})
    with pytest.raises(ValueError, match="unknown grid keys"):
        sweep.expand({"loss": "hinge", "data": "ring8", "seed": 0, "epochs": 3})
    with pytest.raises(ValueError, match="needs 'seed'"):
        sweep.expand({"loss": "hinge", "data": "ring8"})


def test_optional_keys_enter_a_cells_identity_only_when_set():
    plain, paper = sweep.expand({"loss": "r1", "data": "ring8", "seed": 0,
                                 "settings": [None, "paper"]})
    assert sweep.cell_key(plain) == sweep.cell_key(
        {"loss": "r1", "data": "ring8", "seed": 0, "steps": 2000, "batch": 256, "lr": None,
         "n_eval": 10_000})
    assert sweep.cell_key(paper).endswith("|settings=paper")
    with pytest.raises(ValueError, match="settings 'fit'"):
        sweep.expand({"loss": "r1", "data": "ring8", "seed": 0, "settings": "fit"})


@pytest.mark.parametrize("text,ok", [("0/1", (0, 1)), ("3/4", (3, 4)), ("4/4", None),
                                     ("-1/2", None), ("1", None), ("a/b", None)])
def test_parse_shard(text, ok):
    if ok is None:
        with pytest.raises(ValueError, match="shard"):
            sweep.parse_shard(text)
    else:
        assert sweep.parse_shard(text) == ok


def _rows(path):
    return {sweep.cell_key(r): r for r in sweep.read_rows(path)}


def test_shards_split_the_grid_resume_and_merge_to_the_unsharded_result(tmp_path):
    logs = []
    for i in range(2):
        sweep.run(TINY, tmp_path / "sharded", shard=(i, 2), device="cpu", log=logs.append)
    assert logs[0].startswith("shard 0/2: 2 cells to run, 0 already done")
    files = sorted(p.name for p in (tmp_path / "sharded").glob("*.csv"))
    assert files == ["shard-0-of-2.csv", "shard-1-of-2.csv"]
    # the shards are disjoint and together are the grid
    keys = [set(_rows(tmp_path / "sharded" / f)) for f in files]
    assert not keys[0] & keys[1]
    assert keys[0] | keys[1] == {sweep.cell_key(c) for c in sweep.expand(TINY)}
    # a rerun finds everything done and trains nothing
    logs.clear()
    sweep.run(TINY, tmp_path / "sharded", shard=(1, 2), device="cpu", log=logs.append)
    assert logs == ["shard 1/2: 0 cells to run, 2 already done"]
    # merged shards equal one unsharded run of the same grid, cell by cell
    merged = sweep.merge(tmp_path / "sharded", tmp_path / "merged.csv")
    sweep.run(TINY, tmp_path / "whole", device="cpu", log=lambda *_: None)
    a, b = _rows(merged), _rows(tmp_path / "whole")
    assert a.keys() == b.keys() and len(a) == 4
    for key in a:
        for metric in sweep.METRICS_2D:
            assert float(a[key][metric]) == pytest.approx(float(b[key][metric])), (key, metric)
    with merged.open(newline="") as fh:
        assert tuple(next(csv.reader(fh))) == sweep.FIELDS


def test_an_older_shard_csv_is_rewritten_under_the_current_columns(tmp_path):
    old = tmp_path / "shard-0-of-1.csv"
    # fewer metric columns; the second row has no n_eval, so no cell can claim it
    old.write_text("loss,data,seed,steps,batch,lr,n_eval,modes,diverged,seconds,device\n"
                   "hinge,ring8,0,4,32,,256,7,0,1.5,cpu\n")
    with old.open("a") as fh:
        fh.write("nonsaturating,ring8,0,4,32,,,7,0,1.5,cpu\n")
    logs = []
    sweep.run({**TINY, "loss": "nonsaturating", "seed": 0}, tmp_path, device="cpu",
              log=logs.append)
    assert "1 incomplete rows" in logs[1]
    rows = sweep.read_rows(old)
    assert [r["loss"] for r in rows] == ["hinge", "nonsaturating"]
    assert rows[0]["modes"] == "7" and rows[0]["fd"] == ""
    assert rows[1]["modes"] != "" and rows[1]["device"] == "cpu" and rows[1]["n_eval"] == "256"
    with old.open(newline="") as fh:
        assert tuple(next(csv.reader(fh))) == sweep.FIELDS


def test_summarise_keeps_intervals_inside_the_range_and_skips_diverged_runs():
    values = [8, 8, 8, 8, 7]
    rows = [{"loss": "hinge", "data": "ring8", "modes": str(v), "diverged": "0"} for v in values]
    rows.append({"loss": "hinge", "data": "ring8", "modes": "", "diverged": "1"})
    s = sweep.summarise(rows, "modes", high=8)[("hinge", "ring8")]
    assert s["n"] == 5 and s["mean"] == pytest.approx(7.8) and s["values"] == values
    # a Student t interval would reach above 8; the bootstrap stays within what was seen
    half_t = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / math.sqrt(5)
    assert 7.8 + half_t > 8
    assert 7 <= s["low"] <= s["mean"] <= s["high"] <= 8


def test_rank_with_ties_shares_ranks_where_the_test_cannot_separate():
    summary = {"a": {"values": [8, 8, 8, 8, 8]}, "b": {"values": [8, 8, 8, 7, 8]},
               "c": {"values": [1, 2, 1, 1, 3]}}
    assert sweep.rank_with_ties(summary, higher_is_better=True) == {"a": 1, "b": 1, "c": 3}
    assert sweep.rank_with_ties(summary, higher_is_better=False) == {"a": 2, "b": 2, "c": 1}


def test_eval_every_writes_one_row_per_evaluation_and_merges_them(tmp_path):
    grid = {**TINY, "loss": "nonsaturating", "seed": 0, "steps": 6, "eval_every": 2}
    sweep.run(grid, tmp_path, device="cpu", log=lambda *_: None)
    rows = sweep.read_rows(sweep.merge(tmp_path, tmp_path / "all.csv"))
    assert sorted(int(r["step"]) for r in rows) == [2, 4, 6]
    assert {r["d_updates"] for r in rows} == {"2", "4", "6"}
    assert all(r["eval_every"] == "2" and r["modes_radius"] != "" for r in rows)
    # the last evaluation is the cell's final score: the same cell without eval_every agrees
    sweep.run({**grid, "eval_every": None}, tmp_path / "plain", device="cpu",
              log=lambda *_: None)
    (plain,) = sweep.read_rows(tmp_path / "plain")
    last = next(r for r in rows if r["step"] == "6")
    assert "eval_every" not in sweep.cell_key(plain)
    for metric in ("modes", "high_quality", "w2"):
        assert float(last[metric]) == pytest.approx(float(plain[metric]))
    # the samples stored with the final row are the ones it was scored on (scored on all
    # 256 points there, on the stored first 1,000 here: the same points, as float16)
    x = sweep.stored_samples(tmp_path, last)
    assert x.shape == (256, 2) and x.dtype == torch.float32
    assert sweep.stored_samples(tmp_path, grid)[0].tolist() == x[0].tolist()
    with pytest.raises(FileNotFoundError, match="no samples stored"):
        sweep.stored_samples(tmp_path, {**grid, "seed": 7})


def test_lr_decay_is_a_separate_cell_that_trains_with_the_decay(tmp_path):
    grid = {**TINY, "loss": "nonsaturating", "seed": 0, "steps": 6, "lr": 1e-2}
    sweep.run(grid, tmp_path / "plain", device="cpu", log=lambda *_: None)
    sweep.run({**grid, "lr_decay": 1.0}, tmp_path / "decayed", device="cpu",
              log=lambda *_: None)
    (plain,), (decayed,) = (sweep.read_rows(tmp_path / d) for d in ("plain", "decayed"))
    assert "lr_decay" not in sweep.cell_key(plain)
    assert sweep.cell_key(decayed) == sweep.cell_key(plain) + "|lr_decay=1.0"
    assert float(decayed["w2"]) != float(plain["w2"])  # the decayed steps moved G less
    for bad in (0, 1.5, "half", True):
        with pytest.raises(ValueError, match="lr_decay must be"):
            sweep.expand({**grid, "lr_decay": bad})


def test_command_line_runs_shards_and_merges(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({**TINY, "loss": "hinge"}))
    out = tmp_path / "runs"
    for i in range(2):
        assert main(["sweep", "--grid", str(grid), "--shard", f"{i}/2", "--out", str(out),
                     "--device", "cpu"]) == 0
        assert f"shard {i}/2 written to" in capsys.readouterr().out
    # the whole grid as one shard: every cell is done, so no shard-0-of-1.csv is written
    assert main(["sweep", "--grid", str(grid), "--out", str(out), "--device", "cpu"]) == 0
    assert "shard 0/1: nothing written" in capsys.readouterr().out
    assert not (out / "shard-0-of-1.csv").exists()
    # a shard run again after it finished: its file is there, but nothing new was written
    assert main(["sweep", "--grid", str(grid), "--shard", "1/2", "--out", str(out),
                 "--device", "cpu"]) == 0
    assert "shard 1/2: nothing written" in capsys.readouterr().out
    assert main(["sweep", "--merge", str(out), "--to", str(tmp_path / "all.csv")]) == 0
    assert "2 cells merged" in capsys.readouterr().out
    assert {r["seed"] for r in sweep.read_rows(tmp_path / "all.csv")} == {"0", "1"}


@pytest.mark.parametrize("argv,message", [
    (["sweep"], "either --grid"),
    (["sweep", "--grid", "g.json", "--merge", "d"], "either --grid"),
    (["sweep", "--grid", "missing.json"], "no such grid file"),
    (["sweep", "--grid", "GRID", "--shard", "2/2"], "need 0 <= i < n"),
    (["sweep", "--grid", "BAD"], "not valid JSON"),
    (["sweep", "--merge", "nowhere", "--to", "x.csv"], "no shard CSVs"),
    (["sweep", "--merge", "nowhere"], "needs --to"),
])
def test_command_line_errors_are_argparse_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "GRID").write_text(json.dumps(TINY))
    (tmp_path / "BAD").write_text("{loss: hinge")
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


# --- no silent wrong result, no lost work ---------------------------------------------------

ONE = {"loss": "nonsaturating", "data": "ring8", "seed": 0, "steps": 2, "batch": 16,
       "n_eval": 64}


@pytest.mark.parametrize("bad, message", [
    ({"steps": 0}, "steps must be an integer >= 1"), ({"batch": 0}, "batch must be"),
    ({"steps": 2.5}, "steps must be an integer"), ({"lr": "fast"}, "lr must be a number >= 0"),
    ({"lr": -1e-4}, "lr must be"), ({"lr": float("nan")}, "lr must be"),
    ({"seed": -1}, "seed must be an integer in 0..4294967295"), ({"seed": 2**32}, "seed must"),
    ({"seed": True}, "seed must"), ({"n_eval": 0}, "n_eval must be"),
    ({"seed": []}, "'seed' has an empty list"),
])
def test_every_value_of_every_cell_is_checked_before_the_first_cell_runs(tmp_path, bad,
                                                                         message):
    grid = {**ONE, **{k: [ONE.get(k, 0), v] for k, v in bad.items() if v != []}}
    if bad.get("seed") == []:
        grid["seed"] = []
    with pytest.raises(ValueError, match=message):
        sweep.run(grid, tmp_path / "out", device="cpu", log=lambda *_: None)
    assert not (tmp_path / "out").exists()  # the good first cell did not run either
    with pytest.raises(ValueError, match="a grid is a JSON object"):
        sweep.expand([ONE])


def test_a_missing_dataset_is_found_before_the_first_cell(tmp_path, monkeypatch):
    from ganlib import data

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "none")
    monkeypatch.delenv("GANLIB_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="Fashion-MNIST"):
        sweep.run({**ONE, "data": ["ring8", "fashion-mnist"]}, tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()


def test_lr_zero_is_a_learning_rate_not_the_default(tmp_path, monkeypatch):
    from ganlib import train

    seen, fit = [], train.fit

    def spy(G, D, *args, **kw):
        before = [p.detach().clone() for p in G.parameters()]
        history = fit(G, D, *args, **kw)
        seen.append((kw.get("lr"), all(torch.equal(a, b) for a, b in zip(before,
                                                                           G.parameters()))))
        return history

    monkeypatch.setattr(train, "fit", spy)
    sweep.run({**ONE, "lr": [0, 0.0, None]}, tmp_path, device="cpu", log=lambda *_: None)
    assert seen == [(0.0, True), (None, False)]  # 0 and 0.0 are one cell; G learns only at None
    assert sorted(r["lr"] for r in sweep.read_rows(tmp_path)) == ["", "0.0"]


def test_repeated_grid_values_are_one_cell_and_n_eval_is_part_of_the_key(tmp_path):
    assert len(sweep.expand({**ONE, "seed": [0, 0, 1], "loss": ["hinge", "hinge"]})) == 2
    logs = []
    sweep.run(ONE, tmp_path, device="cpu", log=logs.append)
    sweep.run({**ONE, "n_eval": 128}, tmp_path, device="cpu", log=logs.append)
    assert logs[0].endswith("1 cells to run, 0 already done")
    assert "shard 0/1: 1 cells to run, 0 already done" in logs  # the second n_eval runs
    assert sorted(r["n_eval"] for r in sweep.read_rows(tmp_path)) == ["128", "64"]


def test_a_row_cut_off_by_a_crash_is_never_a_result_and_its_cell_reruns(tmp_path):
    grid = {**ONE, "seed": [0, 1]}
    path = sweep.run(grid, tmp_path, device="cpu", log=lambda *_: None)
    whole = path.read_bytes()
    full = {r["seed"]: r for r in sweep.read_rows(path)}
    path.write_bytes(whole[:-12])  # the last row lost its last fields and its newline
    assert [r["seed"] for r in sweep.read_rows(tmp_path)] == ["0"]
    assert len(sweep.read_rows(sweep.merge(tmp_path, tmp_path / "m.csv"))) == 1
    logs = []
    sweep.run(grid, tmp_path, device="cpu", log=logs.append)
    assert logs[0].endswith("1 cells to run, 1 already done")
    assert any("dropped a row cut off" in m for m in logs)
    lines = path.read_bytes().split(b"\r\n")
    assert len(lines) == 4 and lines[-1] == b""  # no line continues the broken one
    again = {r["seed"]: r for r in sweep.read_rows(path)}
    for r in (*full.values(), *again.values()):
        r.pop("seconds")
    assert again == full  # the rerun cell's numbers, whole


def test_a_cell_whose_final_row_was_cut_off_reruns_though_earlier_rows_survived(tmp_path):
    grid = {**ONE, "steps": 4, "eval_every": 2}  # rows at steps 2 and 4 (the final one)
    path = sweep.run(grid, tmp_path, device="cpu", log=lambda *_: None)
    assert [r["step"] for r in sweep.read_rows(path)] == ["2", "4"]
    path.write_bytes(path.read_bytes()[:-12])  # the final row cut short; step 2's is whole
    assert [r["step"] for r in sweep.read_rows(tmp_path)] == ["2"]
    logs = []
    sweep.run(grid, tmp_path, device="cpu", log=logs.append)
    assert logs[0].endswith("1 cells to run, 0 already done")
    assert "4" in [r["step"] for r in sweep.read_rows(path)]


def test_a_row_with_a_missing_or_unparsable_field_is_not_a_result(tmp_path):
    path = sweep.run(ONE, tmp_path, device="cpu", log=lambda *_: None)
    header, row = path.read_text().splitlines()
    bad = [row.rsplit(",", 3)[0] + "\n",  # fields missing, newline present
           row.replace(",0,", ",x,", 1) + "\n",  # a number that does not parse
           row + ",extra\n"]  # more fields than the header
    for line in bad:
        path.write_text(header + "\n" + line)
        assert sweep.read_rows(tmp_path) == []


def test_an_empty_shard_file_gets_its_header(tmp_path):
    (tmp_path / "shard-0-of-1.csv").write_bytes(b"")
    path = sweep.run(ONE, tmp_path, device="cpu", log=lambda *_: None)
    with path.open(newline="") as fh:
        assert tuple(next(csv.reader(fh))) == sweep.FIELDS
    assert [r["loss"] for r in sweep.read_rows(path)] == ["nonsaturating"]


def test_two_processes_on_one_shard_train_each_cell_once(tmp_path, monkeypatch):
    import threading
    import time

    calls, run_cell = [], sweep.run_cell

    def slow(cell, *args, **kw):
        calls.append(sweep.cell_key(cell))
        time.sleep(0.3)  # long enough for the other runner to reach the same cell
        return run_cell(cell, *args, **kw)

    monkeypatch.setattr(sweep, "run_cell", slow)
    grid = {**ONE, "seed": [0, 1, 2]}
    runners = [threading.Thread(target=sweep.run, args=(grid, tmp_path),
                                kwargs={"device": "cpu", "log": lambda *_: None})
               for _ in range(2)]
    for t in runners:
        t.start()
    for t in runners:
        t.join()
    assert sorted(calls) == sorted(sweep.cell_key(c) for c in sweep.expand(grid))
    assert sorted(r["seed"] for r in sweep.read_rows(tmp_path)) == ["0", "1", "2"]
    assert not list(tmp_path.glob(".cell-*.lock"))


def test_image_cells_train_the_pair_asked_for_and_store_their_samples(tmp_path):
    grid = {"loss": ["nonsaturating", "acgan"], "data": "fashion-mnist", "seed": 0,
            "steps": 2, "batch": 16, "n_eval": 64, "pair": "image-small", "ema": 0.9}
    sweep.run(grid, tmp_path, device="cpu", log=lambda *_: None, workers=1)
    rows = sweep.read_rows(tmp_path)
    assert sorted(r["loss"] for r in rows) == ["acgan", "nonsaturating"]
    assert all(r["pair"] == "image-small" and r["fd"] != "" for r in rows)
    stored = sorted((tmp_path / "samples").glob("*.npz"))
    assert [("acgan" in p.name, "pair-image-small" in p.name) for p in stored] == [
        (True, True), (False, True)]
    acgan = np.load(stored[0])
    assert acgan["images"].dtype == np.uint8 and acgan["images"].shape == (1000, 1, 28, 28)
    assert np.array_equal(acgan["labels"], np.arange(1000) % 10)  # balanced classes
    assert len(np.load(stored[1])["labels"]) == 0
    with pytest.raises(ValueError, match="unknown pair"):
        sweep.expand({**grid, "pair": "big"})


def test_lr_x_searches_each_loss_on_the_scale_of_its_paper_learning_rate():
    cells = sweep.expand({"loss": ["hinge", "wgan", "wgan-gp"], "data": "ring8", "seed": 0,
                          "lr_x": [1, 5, 15]})
    lrs = {}
    for c in cells:
        lrs.setdefault(c["loss"], []).append(c["lr"])
    assert lrs == {"hinge": [2e-4, 1e-3, 3e-3], "wgan": [5e-5, 2.5e-4, 7.5e-4],
                   "wgan-gp": [1e-4, 5e-4, 1.5e-3]}
    # a cell is identified by its learning rate, so a grid given by lr finds the same cells
    same = sweep.expand({"loss": "hinge", "data": "ring8", "seed": 0, "lr": [2e-4, 1e-3, 3e-3]})
    assert [sweep.cell_key(c) for c in same] == [sweep.cell_key(c) for c in cells[:3]]
    for bad in ({"lr": 1e-3}, {"lr_x": []}, {"lr_x": [0]}, {"lr_x": ["5"]}):
        with pytest.raises(ValueError, match="lr"):
            sweep.expand({"loss": "hinge", "data": "ring8", "seed": 0, "lr_x": [1], **bad})


def test_lr_settings_takes_each_losss_rate_for_each_data_set():
    from ganlib import settings

    cells = sweep.expand({"loss": ["hinge", "wgan"], "data": ["ring8", "fashion-mnist"],
                          "seed": 0, "lr": "settings", "pair": "image-small"})
    got = {(c["loss"], c["data"]): c["lr"] for c in cells}
    for (loss, data), lr in got.items():
        assert lr == settings.objective(loss, data, pair="image-small").lr
    assert got[("hinge", "fashion-mnist")] == pytest.approx(5e-4)  # the small pair's
    assert len(cells) == 4 and all("|lr=|" not in sweep.cell_key(c) for c in cells)


def test_d_updates_gives_every_loss_the_same_discriminator_updates():
    from ganlib import settings

    cells = sweep.expand({"loss": ["hinge", "wgan-gp"], "data": ["ring8", "fashion-mnist"],
                          "seed": [0, 1], "lr": "settings", "pair": "image-small",
                          "d_updates": 600})
    assert len(cells) == 8
    for c in cells:
        n_critic = settings.objective(c["loss"], c["data"], pair="image-small").n_critic
        assert c["steps"] * n_critic == 600 and "d_updates" not in c
        assert c["lr"] == settings.objective(c["loss"], c["data"], pair="image-small").lr
    # the cells are ordinary cells: a grid that gives their steps outright finds them
    gp = [c for c in cells if c["loss"] == "wgan-gp" and c["data"] == "ring8"]
    same = sweep.expand({"loss": "wgan-gp", "data": "ring8", "seed": [0, 1], "steps": 120,
                         "pair": "image-small", "lr": gp[0]["lr"],
                         "lr_d_x": gp[0].get("lr_d_x", 1)})
    assert [sweep.cell_key(c) for c in same] == [sweep.cell_key(c) for c in gp]
    for bad in ({"steps": 100}, {"d_updates": 0}, {"d_updates": 2.5}):
        with pytest.raises(ValueError, match="d_updates"):
            sweep.expand({"loss": "hinge", "data": "ring8", "seed": 0, "d_updates": 50, **bad})


def test_params_override_the_loss_settings_in_a_cell_of_their_own(tmp_path):
    grid = {**TINY, "loss": "dragan", "seed": 0, "steps": 6, "lr": 1e-2}
    sweep.run(grid, tmp_path / "plain", device="cpu", log=lambda *_: None)
    sweep.run({**grid, "params": {"k": 0}}, tmp_path / "k0", device="cpu",
              log=lambda *_: None)
    (plain,), (k0,) = (sweep.read_rows(tmp_path / d) for d in ("plain", "k0"))
    assert sweep.cell_key(k0) == sweep.cell_key(plain) + "|params=k=0"
    assert float(k0["w2"]) != float(plain["w2"])  # a penalty centred at 0 trains otherwise
    # the same overrides, however written, are one cell, which a rerun skips
    sweep.run({**grid, "params": {"k": 0}}, tmp_path / "k0", device="cpu",
              log=lambda *_: None)
    assert len(sweep.read_rows(tmp_path / "k0")) == 1
    assert sweep.expand({**grid, "params": {"lam": 1.5, "k": 0}})[0]["params"] == "k=0,lam=1.5"
    assert sweep.parse_params("k=0,lam=1.5,perturbation=uniform") == {
        "k": 0, "lam": 1.5, "perturbation": "uniform"}
    with pytest.raises(ValueError, match="do not fit loss 'dragan'"):
        sweep.expand({**grid, "params": {"gamma": 1.0}})
    with pytest.raises(ValueError, match="do not fit loss 'dragan'"):
        sweep.expand({**grid, "params": {"k": -1}})
    for bad in ({}, {"k": float("nan")}, {"k": [0]}, "k"):
        with pytest.raises(ValueError, match="params"):
            sweep.expand({**grid, "params": bad})


def test_lr_settings_puts_a_changed_n_critic_into_each_cell(monkeypatch):
    from ganlib import experiments, settings

    grid = {"loss": ["hinge", "lsgan"], "data": "ring8", "seed": 0, "lr": "settings"}
    monkeypatch.setitem(settings.SEARCHED_N_CRITIC, "hinge", (1, {1: 0.5, 2: 0.1}))
    before = {c["loss"]: sweep.cell_key(c) for c in sweep.expand(grid)}
    assert "params" not in str(before["hinge"])  # the loss's own value: no params
    monkeypatch.setitem(settings.SEARCHED_N_CRITIC, "hinge", (2, {1: 0.1, 2: 0.5}))
    cells = {c["loss"]: c for c in sweep.expand(grid)}
    # a cell trained at the loss's own n_critic is not the cell the changed settings train
    assert cells["hinge"]["params"] == "n_critic=2" and sweep.cell_key(cells["hinge"]) not in \
        before.values()
    assert sweep.cell_key(cells["lsgan"]) == before["lsgan"]  # its own value: no params
    # a grid's own n_critic wins, and other keywords keep theirs
    given = sweep.expand({**grid, "loss": "hinge", "params": {"n_critic": 5}})
    assert [c["params"] for c in given] == ["n_critic=5"]
    monkeypatch.setitem(settings.SEARCHED_N_CRITIC, "dragan", (5, {1: 0.0, 5: 0.3}))
    both = sweep.expand({**grid, "loss": "dragan", "params": [{"k": 0}, {"n_critic": 2}]})
    assert [c["params"] for c in both] == ["k=0,n_critic=5", "n_critic=2"]
    objective, _, _ = experiments.setup("dragan", "ring8", seed=0)
    assert objective.n_critic == 5  # what a chapter trains is what the cell records


def test_a_cell_without_n_critic_trains_at_the_losss_own_after_the_settings_change(monkeypatch):
    """A grid with its learning rate written out names no n_critic: its cells are the runs
    at the loss's own value, before and after a search changes the settings' value."""
    from ganlib import settings

    cell = {"loss": "hinge", "data": "ring8", "seed": 0, "steps": 3, "batch": 16,
            "lr": 1e-3, "n_eval": 200}
    monkeypatch.setitem(settings.SEARCHED_N_CRITIC, "hinge", (5, {1: 0.1, 5: 0.5}))
    (own,) = sweep.run_cell(cell, "cpu")
    (given,) = sweep.run_cell({**cell, "params": "n_critic=5"}, "cpu")
    assert own["d_updates"] == 3 and given["d_updates"] == 15


def test_lr_d_x_trains_the_discriminator_at_that_multiple_of_the_generators_rate():
    from ganlib import config, data, experiments

    cell = {"loss": "nonsaturating", "data": "ring8", "seed": 0, "steps": 20, "batch": 32,
            "lr": 1e-3, "n_eval": 300, "lr_d_x": 4}
    (row,) = sweep.run_cell(cell, "cpu")
    (same,) = sweep.run_cell({**cell, "lr_d_x": None}, "cpu")
    P = config.Profile("t", steps_2d=20, batch_2d=32, steps_image=1, batch_image=1,
                       n_eval_2d=300, n_eval_image=1, seeds=1)
    objective, nets, _ = experiments.setup("nonsaturating", "ring8", seed=0)
    run = experiments.train_2d(objective, data.ring8(), P, 0, nets=nets, progress=False,
                               lr=1e-3, lr_d=4e-3)
    assert row["w2"] == run.metrics.w2 and row["w2"] != same["w2"]
    assert "lr_d_x=4" in sweep.cell_key(row) and "lr_d_x" not in sweep.cell_key(same)
    for bad in (0, -1, float("inf"), "2"):
        with pytest.raises(ValueError, match="lr_d_x"):
            sweep.expand({**TINY, "lr_d_x": bad})


def test_lr_settings_puts_an_adopted_lr_d_x_into_each_cell(monkeypatch):
    from ganlib import experiments, settings

    monkeypatch.delitem(settings.SEARCHED_LR_D_X, "wgan-gp", raising=False)
    grid = {"loss": ["wgan-gp", "lsgan"], "data": "ring8", "seed": 0, "lr": "settings"}
    before = {c["loss"]: sweep.cell_key(c) for c in sweep.expand(grid)}
    assert "lr_d_x" not in str(before)  # equal rates: no option
    monkeypatch.setitem(settings.SEARCHED_LR_D_X, "wgan-gp", (4, {1.0: 0.2, 4.0: 0.8}))
    cells = {c["loss"]: c for c in sweep.expand(grid)}
    assert cells["wgan-gp"]["lr_d_x"] == 4 and sweep.cell_key(cells["wgan-gp"]) not in \
        before.values()
    assert sweep.cell_key(cells["lsgan"]) == before["lsgan"]
    assert sweep.expand({**grid, "loss": "wgan-gp", "lr_d_x": 2})[0]["lr_d_x"] == 2  # the grid's
    # a grid at equal rates ("lr_d_x": 1, a search's) keeps its cells whatever the settings say
    equal = sweep.expand({**grid, "lr_d_x": 1})
    assert [sweep.cell_key(c) for c in equal] == [before["wgan-gp"], before["lsgan"]]
    objective, _, _ = experiments.setup("wgan-gp", "ring8", seed=0)
    assert objective.lr_d_x == 4 and objective.lr_d() == 4 * objective.lr
    row = next(s for s in settings.settings("wgan-gp", "grid25") if s.key == "lr_d_x")
    assert row.value == 4 and row.paper == 1.0 and row.source == "search"
    # a cell without the option trains at equal rates, whatever the settings say
    assert sweep._cell_params({"loss": "wgan-gp"})["lr_d_x"] == 1.0
    assert sweep._cell_params({"loss": "wgan-gp", "lr_d_x": 2})["lr_d_x"] == 2
    with pytest.raises(ValueError, match="lr_d_x twice"):
        sweep._cell_params({"loss": "wgan-gp", "lr_d_x": 2, "params": "lr_d_x=4"})
