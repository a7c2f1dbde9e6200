"""Settings that fit the data, the statistics of the comparison, the coverage and W2-floor
metrics, and seeding: a configuration gives the same numbers through every code path."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib import config, data, experiments, losses, metrics, settings, stats, sweep
from ganlib.grid_runs import finished_rows

SEARCH = Path(__file__).resolve().parent.parent / "notebooks" / "results" / "search"


def test_penalties_are_scaled_to_each_mixture_and_paper_values_stay_one_call_away():
    r1 = settings.objective("r1", "ring8")
    assert r1.params["gamma"] == pytest.approx(0.02 ** 2)
    assert settings.objective("r1", "grid25").params["gamma"] == pytest.approx(0.05 ** 2)
    assert settings.objective("r1", "ring8", paper=True).params["gamma"] == 10.0
    # DRAGAN's perturbation: two standard deviations reach half-way to the neighbouring mode
    for name in ("ring8", "grid25"):
        c = settings.objective("dragan", name).params["c"]
        assert 2 * math.sqrt(c) == pytest.approx(metrics.spacing(data.MIXTURES[name]()) / 2,
                                                 rel=1e-3)
    assert settings.objective("dragan", "fashion-mnist").params["c"] == 10.0
    assert settings.objective("wgan-gp", "ring8").params["lambda"] == 10.0
    # overrides win over both
    assert settings.objective("r1", "ring8", gamma=1.0).params["gamma"] == 1.0
    assert settings.objective("hinge", "ring8", lr=5e-4).lr == 5e-4


def test_every_loss_has_settings_for_every_dataset_with_their_sources():
    rows = settings.rows()
    assert {(r["loss"], r["data"]) for r in rows} == {
        (n, d) for n in losses.names() for d in settings.DATASETS}
    assert {r["source"] for r in rows} <= {"paper", "book", "scaled", "pilot", "search"}
    for r in rows:
        if r["source"] == "paper":
            assert r["value"] == r["paper"], r
        assert r["reason"], r
    image = [r for r in rows if r["data"] == "fashion-mnist" and r["key"] != "batch"]
    assert all(r["source"] == "paper" for r in image)
    table = settings.markdown(["r1"], ("ring8",))
    assert "| r1 | ring8 | gamma | 0.0004 | 10.0 | scaled |" in table
    with pytest.raises(ValueError, match="unknown data 'mnist'"):
        settings.settings("r1", "mnist")


def test_setup_gives_the_data_fit_objective_and_the_kind_gives_the_papers():
    obj, _, _ = experiments.setup("r1", "ring8", seed=0)
    assert obj.params["gamma"] == pytest.approx(4e-4)
    obj, _, _ = experiments.setup("r1", data.grid25(), seed=0)
    assert obj.params["gamma"] == pytest.approx(2.5e-3)
    assert obj.ema == settings.EMA_DECAY
    obj, _, _ = experiments.setup("r1", "2d", seed=0)
    assert obj.params["gamma"] == 10.0 and obj.ema == 0.0
    assert experiments.setup("r1", "ring8", paper=True)[0].ema == 0.0
    assert experiments.setup("r1", "fashion-mnist")[0].ema == 0.0
    _, (G, D), kw = experiments.setup("cgan", "grid25", seed=0)
    assert G.n_classes == 25 and kw == {"conditional": True}
    with pytest.raises(ValueError, match="unknown data 'moons'"):
        experiments.setup("r1", "moons")


def test_bootstrap_interval_stays_inside_the_range_of_the_metric():
    mean, lo, hi = stats.interval([8, 8, 8, 8, 7], high=8)
    assert mean == pytest.approx(7.8) and 7 <= lo <= mean <= hi <= 8
    assert stats.interval([8, 8, 8]) == (8.0, 8.0, 8.0)
    assert stats.interval([0.0, 0.0, 1.0], low=0.0)[1] >= 0.0
    # the bootstrap stays within the values; the range clips it further where it is narrower
    # (a metric bounded at 9.5 whose seeds scored 9 and 10 after rounding, say)
    assert stats.interval([9, 10, 10], high=9.5)[2] == 9.5
    assert stats.interval([0.0, 0.0, 1.0], low=0.2)[1] == 0.2
    assert stats.interval([9, 10, 10])[2] > 9.5  # unclipped, the same draws reach above it
    with pytest.raises(ValueError, match="non-empty"):
        stats.interval([])


def test_permutation_test_is_exact_and_handles_ties():
    # completely separated groups of 5: the two extreme splits of 252
    assert stats.pvalue([8, 8, 8, 8, 8], [1, 2, 1, 3, 2]) == pytest.approx(2 / 252)
    assert stats.pvalue([8, 8, 8], [8, 8, 8]) == 1.0
    a, b = [3.0, 5.0, 4.0, 6.0], [2.0, 4.0, 1.0, 3.0]
    from scipy.stats import permutation_test
    ref = permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y),
                           permutation_type="independent", n_resamples=math.inf)
    assert stats.pvalue(a, b) == pytest.approx(ref.pvalue)
    p = {("a", "b"): 0.01, ("a", "c"): 0.04, ("b", "c"): 0.03}
    assert stats.holm(p) == {("a", "b"): 0.03, ("a", "c"): 0.06, ("b", "c"): 0.06}


def test_ranks_tie_what_the_test_cannot_separate():
    groups = {"a": [8, 8, 8, 8, 8], "b": [8, 7, 8, 8, 8], "c": [1, 1, 2, 1, 3]}
    assert stats.rank(groups, higher_is_better=True) == {"a": 1, "b": 1, "c": 3}
    # after Holm over the three pairs, 5 seeds cannot separate anything at 0.05
    assert stats.rank(groups, True, correction="holm") == {"a": 1, "b": 1, "c": 3}
    assert stats.rank(groups, True, alpha=0.001) == {"a": 1, "b": 1, "c": 1}
    # the caller's p-values are used as given: with b and c inseparable, c shares b's rank
    p = stats.pairwise(groups)
    assert stats.rank(groups, True, pvalues=p) == stats.rank(groups, True)
    assert stats.rank(groups, True, pvalues={**p, ("b", "c"): 1.0}) == {"a": 1, "b": 1, "c": 2}


def test_coverage_radius_counts_modes_found_but_not_yet_sharp():
    ring = data.ring8()
    x, _ = ring.sample(4000, generator=torch.Generator().manual_seed(1))
    blurred = x + 0.1 * torch.randn(4000, 2, generator=torch.Generator().manual_seed(2))
    m = metrics.mode_metrics(blurred, ring)
    assert m.modes == 0 and m.modes_radius == 8  # 5 std off: not sharp, but every mode found
    assert metrics.spacing(ring) == pytest.approx(2 * 2 * math.sin(math.pi / 8), rel=1e-5)


def test_w2_floor_is_what_the_target_scores_against_itself():
    ring = data.ring8()
    floor = metrics.w2_floor(ring, 1000)
    metrics._w2_floor.cache_clear()
    assert metrics.w2_floor(ring, 1000) == floor  # computed again: deterministic
    gen = torch.Generator().manual_seed(0)  # the documented procedure: 3 pairs of samples
    pairs = [(ring.sample(1000, generator=gen)[0], ring.sample(1000, generator=gen)[0])
             for _ in range(3)]
    assert floor == pytest.approx(sum(metrics.wasserstein2(a, b) for a, b in pairs) / 3)
    x, _ = ring.sample(1000, generator=torch.Generator().manual_seed(7))
    m = metrics.mode_metrics(x, ring, n_w2=1000)
    assert m.w2_floor == floor and 0.5 * floor < m.w2 < 2 * floor
    assert metrics.w2_floor(ring, 4000) < floor  # the floor falls with the sample size


def test_a_configuration_gives_the_same_numbers_through_every_code_path():
    """setup + train_2d (a chapter), the sweep's cell runner, and train_2d building the
    networks itself after unrelated random draws: the same weights, run and scores."""
    P = config.Profile("t", steps_2d=120, batch_2d=64, steps_image=1, batch_image=1,
                       n_eval_2d=1000, n_eval_image=1, seeds=1)
    ring = data.ring8()
    obj, nets, kw = experiments.setup("nonsaturating", "ring8", seed=0)
    a = experiments.train_2d(obj, ring, P, 0, nets=nets, progress=False, **kw).metrics
    (row,) = sweep.run_cell({"loss": "nonsaturating", "data": "ring8", "seed": 0,
                             "steps": 120, "batch": 64, "lr": None, "n_eval": 1000}, "cpu")
    torch.randn(1000)  # whatever ran before must not matter
    c = experiments.train_2d(settings.objective("nonsaturating", "ring8"), ring, P, seed=0,
                             progress=False).metrics
    for m in ("modes", "high_quality", "kl", "w2", "modes_radius"):
        assert getattr(a, m) == row[m] == getattr(c, m), m
    assert row["d_updates"] == 120


def test_w2_floor_of_a_rescaled_mixture_scales_with_it():
    from ganlib import data

    ring = data.ring8()
    small = data.Mixture("ring8 / 2.5", ring.centers / 2.5, ring.std / 2.5)
    assert metrics.w2_floor(small, 500) == pytest.approx(metrics.w2_floor(ring, 500) / 2.5,
                                                          rel=1e-4)


def _row(loss, lr, data, seed, step, modes, hq, total=8, diverged="0"):
    return {"loss": loss, "lr": str(lr), "data": data, "seed": str(seed), "step": str(step),
            "modes": str(modes), "total_modes": str(total), "high_quality": str(hq),
            "diverged": diverged}


def test_the_search_picks_the_best_mean_score_and_prefers_the_papers_rate_in_a_near_tie():
    assert settings.search_score(_row("x", 1, "ring8", 0, 1, 4, 50.0)) == 0.25
    rows = []
    for mix, total in (("ring8", 8), ("grid25", 25)):
        for seed in (0, 1):
            rows += [_row("hinge", 2e-4, mix, seed, s, total // 2, 90.0, total)
                     for s in (1500, 3000)]
            rows += [_row("hinge", 1e-3, mix, seed, 1500, 0, 0.0, total),  # early: ignored
                     _row("hinge", 1e-3, mix, seed, 3000, total, 95.0, total)]
    lr, means = settings.choose_lr(rows, "hinge", last=1)
    assert lr == 1e-3 and means[1e-3] == pytest.approx(0.95)
    # averaged over the last two evaluations the 1e-3 runs score 0.475: 2e-4 wins
    assert settings.choose_lr(rows, "hinge", last=2)[0] == 2e-4
    # a near tie goes to the paper's learning rate (2e-4 for hinge)
    tie = [r for r in rows if r["lr"] != str(1e-3)] + [
        {**r, "lr": "0.003", "high_quality": "92.0"} for r in rows if r["lr"] == str(2e-4)]
    assert settings.choose_lr(tie, "hinge")[0] == 2e-4
    # only the grid's learning rates count, and a diverged run scores 0
    assert settings.choose_lr(rows, "hinge", last=1, lrs=[2e-4])[0] == 2e-4
    gone = [{**r, "diverged": "1"} if r["lr"] == str(1e-3) else r for r in rows]
    assert settings.choose_lr(gone, "hinge", last=1)[1][1e-3] == 0.0
    with pytest.raises(ValueError, match="no search rows"):
        settings.choose_lr(rows, "lsgan")


def test_the_small_image_pair_has_settings_of_its_own_and_the_papers_pair_keeps_the_papers():
    for name in ("nonsaturating", "wgan", "wgan-gp", "infogan"):
        paper = settings.objective(name, "fashion-mnist", paper=True)
        assert settings.objective(name, "fashion-mnist").lr == paper.lr
        assert settings.objective(name, "fashion-mnist", pair="image").ema == 0.0
        small = settings.objective(name, "fashion-mnist", pair="image-small")
        assert small.lr == pytest.approx(settings.SMALL_PAIR_LR_X * paper.lr)
        assert small.ema == settings.EMA_DECAY and small.n_critic == paper.n_critic
    assert settings.objective("infogan", "fashion-mnist", pair="image-small").params["kind"] \
        == "image-small"
    objective, (G, _), _ = experiments.setup("hinge", "fashion-mnist", seed=0,
                                             pair="image-small")
    assert objective.lr == pytest.approx(5e-4) and type(G).__name__ == "SmallConvGenerator"
    assert "image-small" not in settings.markdown(data=("fashion-mnist",))  # paper's only
    assert "pilot" in settings.markdown(data=("fashion-mnist",), pair="image-small")
    with pytest.raises(ValueError, match="unknown image pair"):
        settings.settings("hinge", "fashion-mnist", pair="big")


def test_infogan_has_one_code_value_per_mode_on_each_mixture():
    for mix, modes in (("ring8", 8), ("grid25", 25)):
        objective, (G, D), _ = experiments.setup("infogan", mix, seed=0)
        assert objective.n_categories == modes
        assert G.z_dim == objective.noise_dim + modes + objective.n_continuous
        run = experiments.train_2d(objective, data.MIXTURES[mix](), config.Profile(
            "t", steps_2d=3, batch_2d=16, steps_image=1, batch_image=1, n_eval_2d=64,
            n_eval_image=1, seeds=1), nets=(G, D))
        assert run.metrics.total_modes == modes


def test_the_searched_learning_rates_are_what_the_committed_search_chose():
    root = SEARCH
    grid = sweep.expand(sweep.load_grid(root / "lr_search.json"))
    keys = {sweep.cell_key(c) for c in grid}
    rows = [r for r in sweep.read_rows(root / "lr") if sweep.cell_key(r) in keys]
    done = {sweep.cell_key(r) for r in rows if sweep.is_final(r)}
    for loss, (lr, means) in settings.SEARCHED_LR.items():
        mine = [c for c in grid if c["loss"] == loss]
        assert all(sweep.cell_key(c) in done for c in mine), f"{loss}: search not finished"
        choice, got = settings.choose_lr([r for r in rows if r["loss"] == loss], loss,
                                         lrs=sorted({c["lr"] for c in mine}))
        assert choice == lr, loss
        assert got == pytest.approx(means, abs=0.005), loss
        for data_name in ("ring8", "grid25"):
            row = next(s for s in settings.settings(loss, data_name) if s.key == "lr")
            assert row.value == lr and row.source == "search"


def test_the_n_critic_search_reads_its_own_value_from_the_learning_rate_search():
    own = []  # the learning-rate search's cells: hinge's own n_critic (1) at 1e-3, and 2e-4
    for mix, total in (("ring8", 8), ("grid25", 25)):
        for seed in (0, 1):
            own += [_row("hinge", 1e-3, mix, seed, s, total // 2, 90.0, total)
                    for s in (4500, 6000)]
            own += [_row("hinge", 2e-4, mix, seed, 6000, total, 100.0, total)]  # other rate
    nc = [{**r, "params": "n_critic=2", "high_quality": "60.0"} for r in own
          if r["lr"] == str(1e-3)]
    nc += [{**r, "params": "n_critic=5", "modes": str(int(r["total_modes"]))} for r in own
           if r["lr"] == str(1e-3)]
    choice, means = settings.choose_n_critic(nc, own, "hinge")
    assert choice == 5 and means == pytest.approx({1: 0.441, 2: 0.294, 5: 0.9})  # 12/25 = 0.48
    # a near tie keeps the loss's own value
    tie = [{**r, "modes": str(int(r["total_modes"]) // 2), "high_quality": "93.0"}
           if r["params"] == "n_critic=5" else r for r in nc]
    assert settings.choose_n_critic(tie, own, "hinge")[0] == 1
    with pytest.raises(ValueError, match="no n_critic search rows for 'hinge'"):
        settings.choose_n_critic([], own, "hinge")


def test_the_two_time_scale_search_reads_equal_rates_at_the_chosen_rate_and_n_critic():
    # hinge: learning rate 1e-3 and n_critic 2 chosen; the earlier searches' cells at both
    # stand for equal rates, those at another rate or n_critic do not
    lr_hinge, nc_hinge = settings.SEARCHED_LR["hinge"][0], settings.SEARCHED_N_CRITIC["hinge"][0]
    own = []
    for mix, total in (("ring8", 8), ("grid25", 25)):
        for seed in (0, 1):
            at = [_row("hinge", lr_hinge, mix, seed, s, total // 2, 90.0, total)
                  for s in (4500, 6000)]
            own += [{**r, "params": f"n_critic={nc_hinge}"} for r in at]
            own += [{**r, "params": "", "modes": str(total)} for r in at]  # n_critic 1
            own += [_row("hinge", 2e-4, mix, seed, 6000, total, 100.0, total)]  # other rate
    at_nc = [r for r in own if r.get("params")]
    ttur = [{**r, "lr_d_x": "2", "high_quality": "60.0"} for r in at_nc]
    ttur += [{**r, "lr_d_x": "4", "modes": r["total_modes"]} for r in at_nc]
    choice, means = settings.choose_lr_d_x(ttur, own, "hinge")
    assert choice == 4.0 and means == pytest.approx({1.0: 0.441, 2.0: 0.294, 4.0: 0.9})
    tie = [{**r, "modes": str(int(r["total_modes"]) // 2), "high_quality": "93.0"}
           if r["lr_d_x"] == "4" else r for r in ttur]
    assert settings.choose_lr_d_x(tie, own, "hinge")[0] == 1.0  # a near tie: equal rates
    with pytest.raises(ValueError, match="no lr_d_x search rows for 'hinge'"):
        settings.choose_lr_d_x([], own, "hinge")


def test_the_searched_n_critic_values_are_what_the_committed_search_chose():
    root = SEARCH

    def finished(grids, folder):
        cells = [c for g in grids for c in sweep.expand(sweep.load_grid(root / g))]
        rows = finished_rows([root / g for g in grids], root / folder)
        return cells, rows, {sweep.cell_key(r) for r in rows}

    cells, rows, done = finished(["ncritic_search.json", "ncritic_search_wgan.json"],
                                 "ncritic")
    _, lr_rows, _ = finished(["lr_search.json"], "lr")
    chosen = {**settings.SEARCHED_N_CRITIC, **settings.N_CRITIC_PENDING}
    assert not set(settings.SEARCHED_N_CRITIC) & set(settings.N_CRITIC_PENDING)
    for loss, (n, means) in chosen.items():
        mine = [c for c in cells if c["loss"] == loss]
        assert mine and all(sweep.cell_key(c) in done for c in mine), f"{loss}: not finished"
        choice, got = settings.choose_n_critic(rows, lr_rows, loss)
        assert choice == n and got == pytest.approx(means, abs=0.005), loss
        for data_name in ("ring8", "grid25"):
            row = next(s for s in settings.settings(loss, data_name) if s.key == "n_critic")
            adopted = loss in settings.SEARCHED_N_CRITIC
            assert row.source == ("search" if adopted else "paper"), loss
            assert row.value == (n if adopted else losses.get(loss).n_critic), loss


def test_the_two_time_scale_values_are_what_the_committed_search_chose():
    root = SEARCH
    cells = sweep.expand(sweep.load_grid(root / "ttur_search.json"))
    rows = finished_rows(root / "ttur_search.json", root / "ttur")
    done = {sweep.cell_key(r) for r in rows}
    own = finished_rows(root / "lr_search.json", root / "lr") + finished_rows(
        [root / "ncritic_search.json", root / "ncritic_search_wgan.json"], root / "ncritic")
    chosen = {**settings.SEARCHED_LR_D_X, **settings.LR_D_X_PENDING}
    assert not set(settings.SEARCHED_LR_D_X) & set(settings.LR_D_X_PENDING)
    for loss in dict.fromkeys(c["loss"] for c in cells):
        mine = [c for c in cells if c["loss"] == loss]
        assert all(sweep.cell_key(c) in done for c in mine), f"{loss}: not finished"
        choice, got = settings.choose_lr_d_x(rows, own, loss)
        # every loss the search moves off equal rates is named, with its scores
        assert (choice != 1) == (loss in chosen), loss
        if loss in chosen:
            assert choice == chosen[loss][0] and got == pytest.approx(chosen[loss][1],
                                                                      abs=0.005), loss
        adopted = loss in settings.SEARCHED_LR_D_X
        for data_name in ("ring8", "grid25"):
            row = next(s for s in settings.settings(loss, data_name) if s.key == "lr_d_x")
            assert row.value == (choice if adopted else 1.0), loss
            assert row.source == ("search" if adopted else "paper"), loss


# the grids the book reads (the settings page, chapters 02, 05, 06 and 15) and their output
# folders; the comparison grid twice: as timed on one machine, which the chapters read, and
# as first made, where the two time-scale readings also find its equal-rate cells
BOOK_GRIDS = [
    ("convergence.json", "convergence"),
    ("convergence.json", "convergence-rerun"),
    ("convergence_long_ring8.json", "convergence-long-ring8"),
    ("convergence_long_grid25.json", "convergence-long-grid25"),
    ("convergence_32k_grid25.json", "convergence-32k-grid25"),
    ("lr_decay_ring8.json", "lr-decay-ring8"),
    ("lr_decay_grid25.json", "lr-decay-grid25"),
    ("lr_decay_16k_grid25.json", "lr-decay-16k-grid25"),
    ("lr_decay_32k_grid25.json", "lr-decay-32k-grid25"),
    ("dragan_k0.json", "dragan-k0"),
    ("dragan_n1.json", "convergence"),
]


def test_a_pending_ratios_rerun_grids_are_the_book_grids_cells_at_it(monkeypatch):
    """What must run before a pending ratio is adopted: ``<loss>_ttur2_*.json`` hold exactly
    the loss's cells of the grids the book reads, as they expand once it is adopted."""

    root = SEARCH
    for loss, value in settings.LR_D_X_PENDING.items():
        monkeypatch.setitem(settings.SEARCHED_LR_D_X, loss, value)
        book = {sweep.cell_key(c) for g, _ in BOOK_GRIDS if "settings" in str(
            sweep.load_grid(root / g).get("lr")) for c in sweep.expand(sweep.load_grid(root / g))
            if c["loss"] == loss}
        files = sorted(root.glob(f"{loss.replace('-', '')}_ttur{value[0]}_*.json"))
        reruns = {sweep.cell_key(c) for f in files for c in sweep.expand(sweep.load_grid(f))}
        assert files and reruns == book, loss
        monkeypatch.delitem(settings.SEARCHED_LR_D_X, loss)


@pytest.mark.parametrize("grid_file, folder", BOOK_GRIDS)
def test_every_cell_the_book_reads_has_run_at_the_current_settings(grid_file, folder):
    """A grid with ``"lr": "settings"`` expands with the current settings, so a setting the
    searches change (a learning rate, an n_critic) is adopted only once its cells have run at
    it: otherwise the chapters would silently drop that loss from their tables."""

    root = SEARCH
    cells = sweep.expand(sweep.load_grid(root / grid_file))
    rows = finished_rows(root / grid_file, root / folder)
    done = {sweep.cell_key(r) for r in rows}
    missing = [sweep.cell_key(c) for c in cells if sweep.cell_key(c) not in done]
    assert not missing, f"{len(missing)} of {len(cells)} cells not run, e.g. {missing[0]}"


def test_the_timed_rerun_of_the_comparison_grid_holds_every_cell_the_book_reads():
    """The chapters read the comparison grid as trained again in one go by the sweep runner,
    and chapter 15 says how long that took and how many of its runs came out as first made:
    that holds only while the rerun is of the grid as it expands now, every cell of it with
    the samples its noise is measured on, in the five shards it names."""

    from ganlib.grid_runs import GridRuns, reproduced

    root = SEARCH
    grid = root / "convergence.json"
    cells = {sweep.cell_key(c) for c in sweep.expand(sweep.load_grid(grid))}
    rerun = root / "convergence-rerun"
    rows = finished_rows(grid, rerun)
    done = {sweep.cell_key(r) for r in rows}
    assert done == cells, f"{len(cells - done)} cells of {grid.name} not in {rerun.name}"
    for row in filter(sweep.is_final, rows):
        assert sweep.stored_samples(rerun, row).shape == (1_000, 2), sweep.cell_key(row)
    timing = json.loads((rerun / "timing.json").read_text())
    assert [s["shard"] for s in timing["shards"]] == [f"{k}/5" for k in range(5)]
    assert all(s["wall_s"] > 0 for s in timing["shards"])
    stored = GridRuns(grid, root / "convergence")
    again = reproduced(stored, GridRuns(grid, rerun))
    assert len(again["runs"]) == len(cells)
    # the two time-scale readings (two_rates) read these losses from the first version, where
    # their equal-rate cells are: at the settings' ratio its runs must be the rerun's
    assert not {loss for loss, *_ in again["differ"]} & set(settings.SEARCHED_LR_D_X)


def test_every_grid_of_the_comparisons_ladder_is_a_grid_the_book_reads():
    from ganlib import ladder

    assert {(grid, folder) for grid, folder, *_ in ladder.BOOK} <= set(BOOK_GRIDS)


def test_the_comparisons_image_runs_are_the_cpu_profiles_every_one_stored_and_timed():
    """Chapter 15 reads its Fashion-MNIST runs from ``comparison-image-cpu/`` and says how
    long they took: the grid file must be the one the chapter builds from the `cpu` profile
    (it checks that too), every run finished, its 1,000 samples stored, its shards timed."""

    root = SEARCH
    P, grid_file = config.PROFILES["cpu"], root / "comparison_image_cpu.json"
    grid = sweep.load_grid(grid_file)
    assert grid["loss"] == [n for n in losses.names() if not losses.get(n).conditional]
    assert (grid["pair"], grid["batch"], grid["n_eval"], grid["d_updates"]) == (
        P.image_pair, P.batch_image, P.n_eval_image, P.steps_image)
    assert P.image_equal_d_updates  # the grid gives d_updates, not steps
    folder = root / "comparison-image-cpu"
    rows = [r for r in finished_rows(grid_file, folder) if sweep.is_final(r)]
    assert sorted(r["loss"] for r in rows) == sorted(grid["loss"])
    assert all(int(r["d_updates"]) == P.steps_image for r in rows)
    stored = sorted((folder / "samples").glob("*.npz"))
    assert len(stored) == len(rows)
    for path in stored:
        images = np.load(path)["images"]
        assert images.shape == (1_000, 1, 28, 28) and images.dtype == np.uint8, path.name
    timing = json.loads((folder / "timing.json").read_text())
    assert [s["shard"] for s in timing["shards"]] == [f"{k}/6" for k in range(6)]
    assert all(s["wall_s"] > 0 for s in timing["shards"])
