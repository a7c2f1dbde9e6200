"""The ladder: each loss read at the first reading at which most of its seeds settled."""

import json
import re
from pathlib import Path

import pytest

from ganlib import ladder, losses, stats, sweep
from ganlib.grid_runs import GridRuns

GRID = {"loss": ["nonsaturating", "lsgan"], "data": "ring8", "seed": [0, 1], "steps": 16,
        "batch": 32, "n_eval": 256, "eval_every": 2}
DECAY = {**GRID, "lr_decay": 0.5}
ROOT = Path(__file__).resolve().parent.parent / "notebooks" / "results" / "search"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("ladder")
    sweep.run(GRID, out, device="cpu", log=lambda *_: None)
    sweep.run(DECAY, out, device="cpu", log=lambda *_: None)
    return out


def test_rungs_are_ordered_by_length_then_constant_before_decaying(swept):
    rungs = [ladder.rung(DECAY, swept, 16), ladder.rung(GRID, swept, 16),
             ladder.rung(GRID, swept, 8)]
    assert [(r.budget, r.decay) for r in ladder.order(rungs)] == [
        (8, False), (16, False), (16, True)]
    assert [r.label for r in ladder.order(rungs)] == [
        "8 steps", "16 steps", "16 steps with a decaying rate"]


def test_a_rung_past_the_grid_or_inside_a_decaying_schedule_is_a_clear_error(swept):
    with pytest.raises(ValueError, match="trains 16 steps; it cannot be read at 32"):
        ladder.rung(GRID, swept, 32)
    with pytest.raises(ValueError, match="decays its rates to zero at step 16.*read it at 16"):
        ladder.rung(DECAY, swept, 8)


def test_a_loss_is_read_at_the_first_rung_where_most_seeds_settled(swept, monkeypatch):
    early, late = ladder.rung(GRID, swept, 8), ladder.rung(DECAY, swept, 16)
    settled = {(id(early.runs), "lsgan"): False, (id(late.runs), "lsgan"): True,
               (id(early.runs), "nonsaturating"): True, (id(late.runs), "nonsaturating"): True}
    for r in (early, late):
        monkeypatch.setattr(r.runs, "most_settled", lambda loss, d, b, within_noise, runs=r.runs:
                            settled[id(runs), loss])
    assert ladder.first_settled([late, early], "nonsaturating", "ring8") == (early, ())
    assert ladder.first_settled([late, early], "lsgan", "ring8") == (late, ())
    settled[id(late.runs), "lsgan"] = False
    assert ladder.first_settled([late, early], "lsgan", "ring8") == (None, ())
    # a rung that holds no run of the loss is passed, and named
    other = ladder.Rung(GridRuns({**GRID, "loss": "nonsaturating"}, swept), 16)
    assert ladder.first_settled([other, late], "lsgan", "ring8") == (None, (other,))
    settled[id(late.runs), "lsgan"] = True
    assert ladder.first_settled([other, late], "lsgan", "ring8") == (late, (other,))


def test_the_table_ranks_the_settled_losses_each_at_its_rung(swept, monkeypatch):
    early, late = ladder.rung(GRID, swept, 8), ladder.rung(DECAY, swept, 16)
    monkeypatch.setattr(early.runs, "most_settled", lambda loss, *a, **k: loss == "lsgan")
    monkeypatch.setattr(late.runs, "most_settled", lambda loss, *a, **k: True)
    got = ladder.table([early, late], ["nonsaturating", "lsgan", "hinge"], "ring8")
    assert got["where"]["lsgan"].rung == early and got["where"]["nonsaturating"].rung == late
    assert got["where"]["hinge"] == (None, (early, late))
    lsgan, ns = early.runs.tally("lsgan", "ring8", 8), late.runs.tally("nonsaturating",
                                                                        "ring8", 16)
    assert got["pairs"] == {("nonsaturating", "lsgan"): stats.pvalue(ns["score"],
                                                                      lsgan["score"])}
    assert set(got["rank"]) == {"nonsaturating", "lsgan"}  # hinge listed, not ranked
    assert got["table"]["hinge"]["rank"] == "not ranked"
    assert got["table"]["lsgan"]["read at"] == "8 steps"
    assert got["table"]["nonsaturating"]["read at"] == "16 steps with a decaying rate"
    assert got["table"]["lsgan"]["full coverage"] == f"{lsgan['full']}/2"
    mean, low, high = stats.interval(lsgan["score"], low=0.0, high=1.0)
    assert got["table"]["lsgan"]["score"] == f"{mean:.2f} [{low:.2f}, {high:.2f}]"
    assert got["full"] == {"lsgan": lsgan["full"], "nonsaturating": ns["full"]}
    monkeypatch.setitem(got["full"], "lsgan", 2)
    monkeypatch.setitem(got["full"], "nonsaturating", 1)
    assert ladder.full_in_most(got, at_least=2) == ["lsgan"]


def test_the_books_ladder_reads_every_grid_it_names_in_order():
    rungs = ladder.book_ladder(ROOT)
    assert set(rungs) == {"ring8", "grid25"}
    for mixture, mine in rungs.items():
        assert mine == ladder.order(mine)
        assert all(r.runs.runs(dataset=mixture) for r in mine), mixture
        assert all(r.budget <= int(r.runs.grid["steps"]) for r in mine)
        assert all(not r.decay or r.budget == int(r.runs.grid["steps"]) for r in mine)
    # each grid's runs are read once, whatever the number of its rungs
    long_ring8 = [r.runs for r in rungs["ring8"] if not r.decay]
    assert len(long_ring8) == 3 and all(g is long_ring8[0] for g in long_ring8)


def test_the_ladder_shares_the_runs_a_caller_already_read():
    long_grid25 = GridRuns(ROOT / "convergence_long_grid25.json",
                           ROOT / "convergence-long-grid25")
    rungs = ladder.book_ladder(ROOT, known={"convergence-long-grid25": long_grid25})
    assert sum(r.runs is long_grid25 for r in rungs["grid25"]) == 3
    assert not any(r.runs is long_grid25 for r in rungs["ring8"])


def test_the_books_ladder_refuses_a_rung_its_grid_cannot_give(swept):
    spec = ((f"{swept.name}/grid.json", swept.name, (8, 16), ("ring8",)),)
    (swept / "grid.json").write_text(json.dumps(DECAY))
    with pytest.raises(ValueError, match="decays its rates to zero at step 16"):
        ladder.book_ladder(swept.parent, spec)
    (swept / "grid.json").write_text(json.dumps(GRID))
    assert [r.budget for r in ladder.book_ladder(swept.parent, spec)["ring8"]] == [8, 16]
    with pytest.raises(ValueError, match="cannot be read at 32"):
        ladder.book_ladder(swept.parent, ((spec[0][0], swept.name, (32,), ("ring8",)),))


def test_a_chapter_glues_where_the_ladder_reads_its_loss(swept, monkeypatch):
    import ganlib
    from ganlib import chapter

    early, late = ladder.rung(GRID, swept, 8), ladder.rung(DECAY, swept, 16)
    monkeypatch.setattr(early.runs, "most_settled", lambda loss, *a, **k: False)
    monkeypatch.setattr(late.runs, "most_settled", lambda loss, *a, **k: loss == "lsgan")
    monkeypatch.setattr(ladder, "book_ladder", lambda root: {"ring8": [late, early]})
    glued = {}
    monkeypatch.setattr(ganlib, "glue", lambda name, value, display=True:
                        glued.__setitem__(name, value))
    t = late.runs.tally("lsgan", "ring8", 16)
    assert chapter.glue_ladder("ls", "lsgan", swept) == {"ring8": (
        f"at 16 steps with a decaying rate ({t['settled']} of 2 seeds settled within their "
        f"noise, {t['full']} at full coverage)")}
    assert chapter.glue_ladder("ns", "nonsaturating", swept) == {
        "ring8": "at none of its readings, up to 16 steps with a decaying rate"}
    assert set(glued) == {"ls-ladder-ring8", "ns-ladder-ring8"}


def test_every_chapters_stored_ladder_sentence_is_what_the_committed_grids_give(monkeypatch):
    """A chapter that says where the comparison reads its loss stores the phrase its last run
    glued; the committed grids must still give that phrase (else re-run the chapter)."""
    import ganlib
    from ganlib import chapter

    monkeypatch.setattr(ganlib, "glue", lambda *a, **k: None)
    book = ladder.book_ladder(ROOT)  # read the grids once, not once per chapter sentence
    monkeypatch.setattr(ladder, "book_ladder", lambda root: book)
    call = re.compile(r'chapter\.glue_ladder\("([\w-]+)", "([\w-]+)"')
    found = {}
    for path in sorted((ROOT.parents[1]).glob("*.ipynb")):
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        stored = {o["metadata"]["scrapbook"]["name"]: o["data"]
                  for c in code for o in c.get("outputs", [])
                  if "scrapbook" in o.get("metadata", {})}
        for prefix, loss in call.findall("\n".join("".join(c["source"]) for c in code)):
            now = chapter.glue_ladder(prefix, loss, ROOT)
            for mixture, phrase in now.items():
                name = f"{prefix}-ladder-{mixture}"
                assert name in stored, f"{path.name} has not glued {name}: re-run it"
                assert stored[name]["application/papermill.record/text/plain"] == repr(phrase), \
                    f"{path.name}: {name} no longer what the grids give: re-run the chapter"
            found[loss] = path.stem
    # every unconditional loss (the ones the comparison ranks) that the ladder reads later
    # than its first rung, or never, has a chapter that says where
    later = {loss for mixture, rungs in book.items() for loss in rungs[0].runs.grid["loss"]
             if not losses.get(loss).conditional
             and ladder.first_settled(rungs, loss, mixture).rung is not ladder.order(rungs)[0]}
    assert later and later <= set(found), sorted(later - set(found))


def test_a_chapters_ladder_phrase_names_the_readings_that_hold_no_run_of_its_loss(
        swept, monkeypatch):
    """The conditional losses are not in every grid of the ladder: a phrase passes such a
    rung and says so, and a ladder already built can be lent instead of read again."""
    import ganlib
    from ganlib import chapter

    monkeypatch.setattr(ganlib, "glue", lambda *a, **k: None)
    early = ladder.rung({**GRID, "loss": ["nonsaturating"]}, swept, 8)  # no lsgan runs
    late = ladder.rung(DECAY, swept, 16)
    monkeypatch.setattr(early.runs, "most_settled", lambda loss, *a, **k: True)
    settled = {"lsgan"}
    monkeypatch.setattr(late.runs, "most_settled", lambda loss, *a, **k: loss in settled)
    monkeypatch.setattr(ladder, "book_ladder", lambda root: pytest.fail("the ladder was lent"))
    rungs = {"ring8": [late, early]}
    t = late.runs.tally("lsgan", "ring8", 16)
    assert chapter.glue_ladder("ls", "lsgan", swept, rungs) == {"ring8": (
        f"at 16 steps with a decaying rate ({t['settled']} of 2 seeds settled within their "
        f"noise, {t['full']} at full coverage); it has no runs at 8 steps")}
    assert chapter.glue_ladder("ns", "nonsaturating", swept, rungs)["ring8"].startswith(
        "at 8 steps (")  # settled at the first rung: nothing passed
    settled.clear()
    assert chapter.glue_ladder("ls", "lsgan", swept, rungs) == {"ring8": (
        "at none of its readings, up to 16 steps with a decaying rate; it has no runs at "
        "8 steps")}
