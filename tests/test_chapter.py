"""The chapters' shared training sections: runs from the seed and the data-fit settings,
every seed's numbers in the table, and sentences chosen by the numbers."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from ganlib import chapter, config, data, readout  # noqa: E402


def tiny():
    return config.Profile("t", steps_2d=40, batch_2d=64, steps_image=2, batch_image=8,
                          n_eval_2d=256, n_eval_image=64, seeds=2, image_pair="image-small")


def test_2d_section_runs_every_seed_and_says_what_the_numbers_say():
    P = tiny()
    runs = chapter.runs_2d("nonsaturating", P, seed=5, mixtures=("ring8",))
    assert [len(r.curve) for r in runs["ring8"]] == [8, 8]  # scored along the way
    assert runs["ring8"][0].metrics != runs["ring8"][1].metrics  # two seeds, two runs
    table = chapter.table_2d(runs, seed=5)._repr_markdown_()
    assert "ring8, seed 5" in table and "ring8, seed 6" in table and "W2 floor" in table
    fig = chapter.figure_2d(runs, seed=5)
    assert len(fig.axes) == 2
    verdicts = chapter.glue_2d("t", runs, P)
    mixture = data.ring8()
    tolerances = [readout.noise_tolerances(r.samples, mixture, P.n_eval_2d)
                  for r in runs["ring8"]]
    assert [chapter.noise_tolerances(r) for r in runs["ring8"]] == tolerances  # its own data
    # a table whose rows are labelled otherwise still reads each run on its own mixture
    assert "ring8 (NS), seed 5" in chapter.table_2d({"ring8 (NS)": runs["ring8"]}, seed=5
                                                    )._repr_markdown_()
    assert verdicts["ring8"] == readout.verdict_2d([r.metrics for r in runs["ring8"]],
                                                   [r.curve for r in runs["ring8"]], 40,
                                                   tolerances)
    for r, tol in zip(runs["ring8"], tolerances):  # the table's column says which rule held
        label = chapter.settled_label(r)
        assert label == ("yes" if readout.run_settled(r.curve) else "within noise"
                         if readout.run_settled(r.curve, tolerances=tol) else "no")
        assert f"| {label} |" in table


def test_image_section_scores_the_profiles_pair():
    P = tiny()
    run = chapter.run_images("hinge", data.fashion_mnist(), P, seed=0)
    assert type(run.G).__name__ == "SmallConvGenerator"
    assert chapter.glue_image("t", run) == readout.verdict_image(run.extra["scores"])
    assert len(chapter.figure_image(run).axes) == 2


def test_the_image_section_can_keep_the_untrained_networks():
    import torch

    P = tiny()
    run = chapter.run_images("wgan-gp", data.fashion_mnist(), P, seed=1, keep_initial=True)
    G0, D0 = run.extra["initial"]
    assert not all(torch.equal(a, b) for a, b in zip(D0.parameters(), run.D.parameters()))
    from ganlib import experiments

    _, (G1, D1), _ = experiments.setup("wgan-gp", "fashion-mnist", seed=1, pair="image-small")
    assert all(torch.equal(a, b) for a, b in zip(D0.parameters(), D1.parameters()))
    assert len(chapter.figure_image(run, keys=("d_loss", "penalty")).axes) == 2


def test_runs_in_worker_processes_equal_runs_in_this_process(monkeypatch):
    import torch

    P = config.Profile("t", steps_2d=20, batch_2d=32, steps_image=2, batch_image=8,
                       n_eval_2d=128, n_eval_image=64, seeds=2, image_pair="image-small")
    here = chapter.runs_2d("wgan-gp", P, seed=3, mixtures=("ring8",))
    monkeypatch.setenv("GANLIB_WORKERS", "2")
    there = chapter.runs_2d("wgan-gp", P, seed=3, mixtures=("ring8",))
    for a, b in zip(here["ring8"], there["ring8"], strict=True):
        assert torch.equal(a.samples, b.samples) and a.curve == b.curve
        assert b.extra["objective"].name == "wgan-gp"


def test_a_profile_can_give_every_image_run_the_same_discriminator_updates():
    P = config.Profile("t", steps_2d=20, batch_2d=32, steps_image=10, batch_image=8,
                       n_eval_2d=128, n_eval_image=64, seeds=1, image_pair="image-small",
                       image_equal_d_updates=True)
    assert (P.image_steps(1), P.image_steps(5)) == (10, 2)
    images = data.fashion_mnist()
    wgan = chapter.run_images("wgan", images, P, seed=0)
    hinge = chapter.run_images("hinge", images, P, seed=0)
    assert (wgan.steps, wgan.d_updates) == (2, 10) and (hinge.steps, hinge.d_updates) == (10, 10)
    assert wgan.history.steps[-1] == 2
    chapter.glue_image("t", wgan)
    plain = config.Profile(**{**P.__dict__, "image_equal_d_updates": False})
    assert plain.image_steps(5) == 10


def test_run_many_takes_any_run_2d_argument_and_keeps_the_jobs_order(monkeypatch):
    import torch
    from torch import nn

    from ganlib import models, settings

    monkeypatch.setenv("GANLIB_WORKERS", "2")  # spectral norm must come back from a worker
    P = config.Profile("t", steps_2d=20, batch_2d=32, steps_image=2, batch_image=8,
                       n_eval_2d=128, n_eval_image=64, seeds=1)
    lr = settings.objective("nonsaturating", "ring8").lr
    jobs = [{"name": "nonsaturating", "mixture": "ring8", "profile": P, "seed": 1,
             "evaluations": 4, "transform_d": models.spectral_norm},
            {"name": "nonsaturating", "mixture": "grid25", "profile": P, "seed": 0,
             "fit_kw": {"lr_d": 2 * lr, "lr_g": lr / 2}, "real_label": 0.9}]
    first, second = chapter.run_many(jobs)
    assert len(first.curve) == 4 and first.metrics.total_modes == 8
    # trained spectrally normalised: every layer's largest singular value is about 1
    sigmas = [torch.linalg.matrix_norm(m.weight.detach(), 2).item()
              for m in first.D.modules() if isinstance(m, nn.Linear)]
    assert sigmas and all(0.8 < s < 1.2 for s in sigmas), sigmas
    assert second.metrics.total_modes == 25
    assert second.extra["objective"].params["real_label"] == 0.9


def test_run_many_builds_other_networks_and_takes_a_mixture_with_another_datas_settings(
        monkeypatch):
    from functools import partial

    import pytest
    import torch
    from torch import nn

    from ganlib import experiments, models, settings

    monkeypatch.setenv("GANLIB_WORKERS", "2")
    P = config.Profile("t", steps_2d=20, batch_2d=32, steps_image=2, batch_image=8,
                       n_eval_2d=128, n_eval_image=64, seeds=1)
    ring = data.ring8()
    small = data.Mixture("ring8 / 2.5", ring.centers / 2.5, ring.std / 2.5)
    boxed = partial(models.pair, "2d", activation=nn.Tanh, g_output=nn.Sigmoid)
    jobs = [{"name": "nonsaturating", "mixture": small, "profile": P, "seed": 3,
             "settings_of": "ring8", "build_nets": boxed},
            {"name": "nonsaturating", "mixture": "ring8", "profile": P, "seed": 3}]
    there, plain = chapter.run_many(jobs, device="cpu")  # as here, also beside a GPU
    assert isinstance(there.G.net[-1], nn.Sigmoid) and isinstance(there.G.net[1], nn.Tanh)
    assert any(isinstance(m, nn.Tanh) for m in there.D.modules())
    assert there.samples.min() >= 0 and there.samples.max() <= 1
    assert there.extra["objective"].lr == settings.objective("nonsaturating", "ring8").lr
    # the same job in this process gives the same numbers
    here = experiments.run_2d("nonsaturating", small, P, 3, settings_of="ring8",
                              build_nets=boxed)
    assert torch.equal(here.samples, there.samples) and here.curve == there.curve
    assert not isinstance(plain.G.net[-1], nn.Sigmoid)
    with pytest.raises(ValueError, match="2-D pair only"):
        models.pair("image-small", activation=nn.Tanh)


def test_image_runs_in_worker_processes_equal_runs_in_this_process(monkeypatch):
    import torch

    P = config.Profile("t", steps_2d=20, batch_2d=32, steps_image=3, batch_image=8,
                       n_eval_2d=128, n_eval_image=64, seeds=1, image_pair="image-small",
                       image_equal_d_updates=True)
    images = data.fashion_mnist()
    jobs = [{"name": "wgan-gp", "profile": P, "seed": 2, "keep_initial": True},
            {"name": "hinge", "profile": P, "seed": 1}]
    monkeypatch.setenv("GANLIB_WORKERS", "1")
    here = chapter.images_many(jobs, images, device="cpu")  # worker processes are for CPUs
    monkeypatch.setenv("GANLIB_WORKERS", "2")
    there = chapter.images_many(jobs, images, device="cpu")
    assert [r.extra["objective"].name for r in there] == ["wgan-gp", "hinge"]
    assert (there[0].steps, there[1].steps) == (1, 3)  # the profile's equal D updates
    assert "initial" in there[0].extra and "initial" not in there[1].extra
    for a, b in zip(here, there, strict=True):  # one thread there, maybe more here
        assert torch.allclose(a.samples, b.samples, atol=1e-4)
        assert abs(a.extra["scores"].fd - b.extra["scores"].fd) < 1e-2 * a.extra["scores"].fd


def test_a_run_without_its_mixture_is_judged_only_when_given_one():
    from ganlib.experiments import Run

    ring = data.ring8()
    run = Run(None, None, None, ring.sample(500)[0],
              curve=[{"step": s, "modes_radius": 8, "modes": 8, "high_quality": 99.0}
                     for s in (1, 2, 3)])
    with pytest.raises(ValueError, match="mixture="):
        chapter.noise_tolerances(run)
    assert chapter.noise_tolerances(run, "ring8") == readout.TOLERANCES  # target samples
    assert chapter.settled_label(run, ring) == "yes"


def test_tolerances_are_kept_for_each_mixture_they_were_computed_on(monkeypatch):
    from ganlib.experiments import Run

    calls = []

    def fake(samples, mixture, n_eval):
        calls.append(mixture.name)
        return {"on": mixture.name, "std": mixture.std}

    monkeypatch.setattr(chapter.readout, "noise_tolerances", fake)
    ring = data.ring8()
    run = Run(None, None, None, ring.sample(50)[0], curve=[], extra={"mixture": ring})
    assert chapter.noise_tolerances(run) == {"on": "ring8", "std": 0.02}
    assert chapter.noise_tolerances(run, "ring8") == {"on": "ring8", "std": 0.02}  # kept
    assert chapter.noise_tolerances(run, "grid25") == {"on": "grid25", "std": 0.05}
    wide = data.ring8(std=0.5)  # same name and centres, another spread: another key
    assert chapter.noise_tolerances(run, wide) == {"on": "ring8", "std": 0.5}
    assert chapter.noise_tolerances(run) == {"on": "ring8", "std": 0.02}
    assert calls == ["ring8", "grid25", "ring8"]


def test_settled_label_takes_each_branch_on_hand_made_runs():
    from ganlib.experiments import Run

    grid = data.grid25()
    torch.manual_seed(3)
    blurred = grid.sample(1000)[0]
    blurred = blurred + 0.15 * torch.randn_like(blurred)  # counts that move with the draw

    def run(*modes):
        return Run(None, None, None, blurred, extra={"mixture": grid},
                   curve=[{"step": s, "modes_radius": 25, "modes": m, "high_quality": 30.0}
                          for s, m in zip((1, 2, 3), modes)])

    tol = chapter.noise_tolerances(run(20, 20, 20))["modes"]
    assert tol > readout.TOLERANCES["modes"]  # the widened rule is wider here
    assert chapter.settled_label(run(20, 20, 21)) == "yes"  # one mode: the plain rule's
    wide = int(tol)  # moved beyond the plain rule, within the counts' noise
    assert chapter.settled_label(run(20, 20 + wide, 20)) == "within noise"
    assert chapter.settled_label(run(20, 20 + wide + 1, 20)) == "no"
