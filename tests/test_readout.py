"""The sentences chapters glue into their Takeaways follow from the numbers."""

import pytest
import torch

from ganlib import data, metrics, readout
from ganlib.evaluator import ImageMetrics
from ganlib.metrics import ModeMetrics


def mm(modes, hq, radius=None, total=8):
    return ModeMetrics(modes, total, hq, 0.0, 0.1, total if radius is None else radius, 0.05)


def curve(*values, hq=90.0):
    return [{"step": 500 * (i + 1), "modes_radius": v, "modes": v, "high_quality": hq}
            for i, v in enumerate(values)]


def test_settled_needs_the_last_evaluations_to_agree():
    assert readout.settled(curve(3, 8, 8, 8), "modes")
    assert not readout.settled(curve(8, 8, 7), "modes")
    assert not readout.settled(curve(8, 8), "modes")  # fewer points than asked for
    assert readout.settled(curve(8, 7, 7.5), "modes", tol=1)
    with pytest.raises(ValueError, match="last must be"):
        readout.settled(curve(8, 8), last=1)
    assert readout.run_settled(curve(5, 8, 8, 8))
    found_but_blurred = [{**p, "modes": m, "high_quality": h} for p, m, h in
                         zip(curve(8, 8, 8), (0, 2, 5), (4.0, 20.0, 60.0))]
    assert not readout.run_settled(found_but_blurred)
    assert not readout.run_settled([{**p, "high_quality": h} for p, h in
                                    zip(curve(8, 8, 8), (70.0, 85.0, 92.0))])


def test_settled_at_reads_a_longer_run_at_the_budget_and_spacing():
    long = curve(2, 4, 8, 6, 8, 5, 8, 8, 1, 1)  # steps 500 ... 5,000
    # every 1,000 steps up to 4,000: the last three are 6, 5, 8 (2,000 to 4,000)
    assert not readout.settled_at(long, 4000, 1000)
    assert readout.settled_at(long, 4000, 500, last=2)  # 3,500 and 4,000: 8, 8
    assert not readout.settled_at(long, 5000, 500)  # 8, 1, 1
    assert readout.settled_at([{**p, "step": str(p["step"]), "modes": str(p["modes"])}
                               for p in long], 4000, 500, last=2)  # results rows: strings
    assert not readout.settled_at(long, 6000, 500)  # the curve stops before the budget
    assert not readout.settled_at(long[:0], 4000, 500)


def test_verdict_2d_reads_coverage_collapse_and_unsettled_runs():
    assert readout.verdict_2d([mm(8, 93.4), mm(8, 88.0)]).startswith(
        "all 8 modes with at least 88% high-quality samples in every one of 2 seeds")
    assert "at least 99% high-quality" in readout.verdict_2d([mm(8, 99.96), mm(8, 100.0)])
    assert "every sample high quality in every" in readout.verdict_2d([mm(8, 100.0)] * 2)
    assert "in 1 of 2 seeds; the others cover 5 of 8" in readout.verdict_2d(
        [mm(8, 93.0), mm(5, 90.0)])
    assert "a collapse onto part" in readout.verdict_2d([mm(3, 95.0, 3), mm(2, 97.0, 2)])
    assert "2-3 of 8 modes" in readout.verdict_2d([mm(3, 95.0, 3), mm(2, 97.0, 2)])
    assert "no samples near any mode in 2 seeds" in readout.verdict_2d(
        [mm(0, 0.0, radius=0), mm(0, 0.1, radius=0)])
    # found every mode but blurred: not a collapse
    assert "not sharp" in readout.verdict_2d([mm(1, 20.0, radius=8)])
    # blurred and missing modes: no mode sharp in any seed is not called a collapse
    text = readout.verdict_2d([mm(0, 2.8, radius=17, total=25), mm(0, 3.0, radius=15, total=25)])
    assert text.startswith("no mode covered at the 3-std rule in 2 seeds (3% high-quality")
    assert "near 15-17 of 25 modes" in text and "collapse" not in text
    text = readout.verdict_2d([mm(8, 93.0), mm(8, 90.0)],
                              curves=[curve(8, 8, 8), curve(4, 6, 8)], steps=6000)
    assert text.startswith("1 of 2 seeds had not settled after 6,000 steps")
    assert readout.verdict_2d([mm(8, 93.0)], curves=[curve(4, 6, 8)]).startswith(
        "the run had not settled (")
    assert text.endswith("as a property of the loss")
    # where the runs vary something else, the warning names it
    assert readout.verdict_2d([mm(8, 93.0)], curves=[curve(4, 6, 8)],
                              subject="the activation").endswith("a property of the activation")
    assert readout.verdict_2d([mm(0, 0.0, radius=0)], subject="the activation").endswith(
        "does not show that the activation is the cause")
    with pytest.raises(ValueError):
        readout.verdict_2d([])


def test_verdict_2d_judges_each_run_within_its_own_noise():
    moving = curve(6, 8, 7)  # the modes found changed: the rule's own tolerances refuse it
    metrics_ = [mm(8, 93.0), mm(7, 90.0)]
    strict = {"modes_radius": 0.0, "modes": 1.0, "high_quality": 10.0}
    noisy = {"modes_radius": 2.0, "modes": 2.0, "high_quality": 10.0}
    assert "had not settled" in readout.verdict_2d(metrics_, [curve(8, 8, 8), moving])
    text = readout.verdict_2d(metrics_, [curve(8, 8, 8), moving], 8000, [strict, strict])
    assert text.startswith("1 of 2 seeds had not settled after 8,000 steps (modes or "
                           "sharpness still changing beyond the counts' sampling noise")
    # within the second run's noise the same curves settle, and the verdict reads the result
    assert readout.verdict_2d(metrics_, [curve(8, 8, 8), moving], 8000,
                              [strict, noisy]).startswith("all 8 modes with at least 80%")
    # a run moving beyond its noise stays unsettled
    assert "had not settled" in readout.verdict_2d(
        metrics_, [curve(8, 8, 8), curve(2, 8, 5)], 8000, [strict, noisy])
    with pytest.raises(ValueError, match="one mapping per curve"):
        readout.verdict_2d(metrics_, [moving, moving], 8000, [noisy])


def im(fd, recall, coverage, floor=0.81):
    f = ImageMetrics(floor, 0.7, 0.7, 1.0, 0.0, 0.9, 10_000)
    return ImageMetrics(fd, 0.5, recall, coverage, 0.1, 0.9, 10_000, floor=f)


def test_verdict_image_checks_every_target():
    assert readout.verdict_image(im(85.0, 0.31, 1.0)).startswith(
        "meets the book's image targets: FD 85 (floor 0.81), recall 0.31, 10 of 10 classes")
    text = readout.verdict_image(im(140.0, 0.05, 0.8))
    assert "FD <= 100, recall >= 0.1, all 10 classes" in text and "8 of 10" in text
    assert "does not by itself show a property of the loss" in text
    assert "(FD <= 100)" in readout.verdict_image(im(101.0, 0.2, 1.0))
    assert readout.meets_image_targets(im(85.0, 0.31, 1.0))
    assert not readout.meets_image_targets(im(85.0, 0.31, 0.9))
    row = {"fd": "99.5", "recall": "0.1", "class_coverage": "1.0"}  # as read_rows gives
    assert readout.meets_image_targets(row)
    assert not readout.meets_image_targets({**row, "fd": "100.5"})
    assert not readout.meets_image_targets({**row, "recall": "0.09"})


def test_chapter_runs_use_the_data_fit_settings_and_score_along_the_way():
    from ganlib import config, data, experiments, settings

    P = config.Profile("t", steps_2d=40, batch_2d=64, steps_image=2, batch_image=8,
                       n_eval_2d=256, n_eval_image=64, seeds=1, image_pair="image-small")
    r = experiments.run_2d("r1", data.ring8(), P, seed=3, evaluations=4)
    fit = settings.objective("r1", "ring8")
    assert r.extra["objective"].params["gamma"] == fit.params["gamma"] != 10
    assert [p["step"] for p in r.curve] == [10, 20, 30, 40]
    assert r.curve[-1]["modes"] == r.metrics.modes
    again = experiments.run_2d("r1", data.ring8(), P, seed=3, evaluations=4)
    assert again.metrics == r.metrics  # the seed alone sets the run
    images = data.fashion_mnist()
    run = experiments.run_images("infogan", images, P, seed=0, ema=0.9)
    assert run.extra["objective"].params["kind"] == "image-small"
    assert run.G_ema is not None and run.generator is run.G_ema
    assert run.extra["scores"].n == 64


def test_the_rules_counts_are_the_numbers_mode_metrics_reports():
    grid = data.grid25()
    x, _ = grid.sample(3000, generator=torch.Generator().manual_seed(1))
    x = x * 1.4  # blurred and off-centre: some modes counted, some not
    m = metrics.mode_metrics(x, grid)
    assert metrics.counts_from_flags(*metrics.mode_flags(x, grid), 25) == {
        "modes": m.modes, "modes_radius": m.modes_radius, "high_quality": m.high_quality}
    # the flags are mode_histogram's at the 3-std rule and at the coverage radius
    nearest, hq, near = metrics.mode_flags(x, grid)
    radius = metrics.COVERAGE_RADIUS * metrics.spacing(grid)
    for flags, kw in ((hq, {}), (near, {"radius": radius})):
        theirs = metrics.mode_histogram(x, grid, **kw)
        assert torch.equal(nearest, theirs[0]) and torch.equal(flags, theirs[1])


def test_rule_reliability_tells_the_metrics_noise_from_a_generator_that_moved():
    grid, n = data.grid25(), 5000
    target, _ = grid.sample(n, generator=torch.Generator().manual_seed(0))
    assert readout.rule_reliability(target, grid, n_eval=n, trials=20) == 1.0
    # every mode holds exactly the share covered() asks for (20% of n / 25), the rest of the
    # samples lie between modes, a spacing's half from the nearest (beyond the radius):
    # a fixed generator like this is counted with about half its modes, a different half in
    # every evaluation, and the rule can seldom call it settled
    per_mode = round(0.2 * n / 25)
    at_modes = grid.centers.repeat_interleave(per_mode, 0)
    between = (grid.centers + torch.tensor([1.0, 0.0])).repeat_interleave(
        (n - len(at_modes)) // 25, 0)
    on_the_threshold = torch.cat([at_modes, between])
    assert len(on_the_threshold) == n
    assert readout.rule_reliability(on_the_threshold, grid, n_eval=n, trials=20) < 0.2
    with pytest.raises(ValueError, match="trials"):
        readout.rule_reliability(target, grid, n_eval=n, trials=0)


def test_noise_tolerances_widen_the_rule_to_the_counts_own_noise_and_no_further():
    grid, n = data.grid25(), 5000
    target, _ = grid.sample(n, generator=torch.Generator().manual_seed(0))
    # a sharp generator's counts do not move: the rule's own tolerances stand
    assert readout.noise_tolerances(target, grid, n_eval=n, trials=20) == readout.TOLERANCES
    per_mode = round(0.2 * n / 25)  # every mode on the threshold, as above
    at_modes = grid.centers.repeat_interleave(per_mode, 0)
    between = (grid.centers + torch.tensor([1.0, 0.0])).repeat_interleave(
        (n - len(at_modes)) // 25, 0)
    noisy = torch.cat([at_modes, between])
    tol = readout.noise_tolerances(noisy, grid, n_eval=n, trials=50)
    assert tol["modes_radius"] >= 3 and tol["modes"] >= 3
    # with them, three fresh evaluations of that same generator mostly pass the rule...
    fresh = readout._fixed_generator_curves(noisy, grid, n, 40, 3, seed=1)
    assert sum(readout.run_settled(c, tolerances=tol) for c in fresh) >= 30
    # ... and a run that moves by more than its noise does not
    moving = [{"modes_radius": r, "modes": r, "high_quality": 30.0} for r in (5, 12, 20)]
    assert not readout.run_settled(moving, tolerances=tol)
    with pytest.raises(ValueError, match="quantile"):
        readout.noise_tolerances(noisy, grid, n_eval=n, q=1.0)


def test_rule_noise_gives_both_readings_from_one_set_of_draws():
    grid, n = data.grid25(), 2000
    torch.manual_seed(3)
    blurred = grid.sample(1000)[0]
    blurred = blurred + 0.15 * torch.randn_like(blurred)
    both = readout.rule_noise(blurred, grid, n_eval=n, trials=30, seed=4)
    assert both.reliability == readout.rule_reliability(blurred, grid, n, trials=30, seed=4)
    assert both.tolerances == readout.noise_tolerances(blurred, grid, n, trials=30, seed=4)
    assert both.reliability < 1.0 and both.tolerances["modes"] > readout.TOLERANCES["modes"]
    # the same numbers as the documented procedure, spelled out: each trial scores three
    # resamples (with replacement) of the samples with the book's metrics
    gen, passed, spans = torch.Generator().manual_seed(4), 0, {k: [] for k in
                                                               readout.TOLERANCES}
    for _ in range(30):
        picks = [torch.randint(len(blurred), (n,), generator=gen) for _ in range(3)]
        curve_ = [metrics.mode_metrics(blurred[i], grid, n_w2=2).as_dict() for i in picks]
        passed += readout.run_settled(curve_)
        for key in spans:
            values = [float(p[key]) for p in curve_]
            spans[key].append(max(values) - min(values))
    assert both.reliability == passed / 30
    for key, values in spans.items():
        assert both.tolerances[key] == pytest.approx(max(
            readout.TOLERANCES[key], float(torch.tensor(values).quantile(0.95))))


def test_movement_says_which_way_the_counts_went():
    assert readout.movement(curve(8, 8, 8)) == "settled"
    assert readout.movement(curve(6, 7, 8)) == "rising"  # found modes 6 -> 8
    assert readout.movement(curve(8, 8, 5)) == "falling"
    assert readout.movement(curve(5, 8, 6)) == "rising and falling"
    sharpening = [{**p, "high_quality": h} for p, h in zip(curve(8, 8, 8), (50.0, 65.0, 80.0))]
    assert readout.movement(sharpening) == "rising"
    assert readout.movement(sharpening, {"modes_radius": 0, "modes": 1, "high_quality": 30}) \
        == "settled"  # within wider tolerances
    # over three evaluations, "settled" is the settled rule
    for values in [(8, 8, 8), (7, 8, 8), (8, 7, 8), (6, 8, 7)]:
        assert (readout.movement(curve(*values)) == "settled") == readout.run_settled(
            curve(*values))
    with pytest.raises(ValueError, match="two evaluations"):
        readout.movement(curve(8))
