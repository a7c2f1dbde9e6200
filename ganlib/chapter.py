"""The training sections every loss chapter shares: the same runs, figures, tables and
glued sentences, so that chapters differ only in the loss and what is said about it.

A chapter calls, for its loss ``name``::

    runs = chapter.runs_2d(name, P, seed, device)      # both mixtures, P.seeds seeds
    chapter.figure_2d(runs)                            # samples and coverage curves
    chapter.table_2d(runs)                             # every seed's numbers, floors
    chapter.glue_2d("ns", runs, P)                     # sentences for the Takeaway
    image = chapter.run_images(name, images, P, seed)  # the profile's image pair
    pair = chapter.images_many([{"name": n, "profile": P, "seed": seed} for n in names],
                               images)                 # several image runs, side by side
    chapter.figure_image(image); chapter.glue_image("ns", image, P)

Every run takes its settings from :mod:`ganlib.settings` (the data's) and its initial
weights from its seed alone (:func:`ganlib.experiments.setup`); the sentences come from
:mod:`ganlib.readout`, so a Takeaway says "too short to read" where the runs say so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from ganlib import config, data, experiments, plots, readout, workers
from ganlib.experiments import Run


def runs_2d(name: str, profile: config.Profile, seed: int = 0, device=None,
            mixtures: tuple[str, ...] = ("ring8", "grid25"), **params) -> dict[str, list[Run]]:
    """Loss ``name`` on each mixture with ``profile.seeds`` seeds (``seed``, ``seed + 1``...),
    each scored along the way; ``params`` override the data-fit settings. The runs go to
    :func:`run_many`."""
    jobs = [{"name": name, "mixture": mix, "profile": profile, "seed": s, **params}
            for mix in mixtures for s in range(seed, seed + profile.seeds)]
    runs = run_many(jobs, device)
    return {mix: [r for job, r in zip(jobs, runs) if job["mixture"] == mix] for mix in mixtures}


def run_many(jobs: list[dict], device=None) -> list[Run]:
    """:func:`ganlib.experiments.run_2d` for every job, a dict of its arguments (``name``,
    ``mixture`` by name or a :class:`ganlib.data.Mixture`, ``profile``, ``seed``, and any
    other keyword of ``run_2d``);
    the runs in the order of ``jobs``.

    On a CPU the runs go to one worker process per core (:mod:`ganlib.workers`; each run
    seeds itself, so its numbers do not depend on the worker that trains it). Everything
    in a job must pickle: module-level functions, not lambdas. So that every run can come
    back from a worker, parametrizations (spectral norm) are folded into the weights they
    produced at the end of training, wherever the run was trained."""
    return _in_order(_run_job, jobs, device)


def _in_order(job_fn, jobs: list[dict], device, *args) -> list[Run]:
    """``job_fn(i, jobs, *args, device)`` for every job, on :mod:`ganlib.workers` (one
    process per CPU core), the runs in the order of ``jobs``."""
    device = config.get_device(device)
    done = dict(workers.imap(job_fn, range(len(jobs)), workers.count(device, len(jobs)),
                             jobs, *args, device))
    return [done[i] for i in range(len(jobs))]


def _run_job(i: int, jobs: list[dict], device) -> Run:
    job = dict(jobs[i])
    mixture = job.pop("mixture")
    mixture = (data.MIXTURES[mixture](device=device) if isinstance(mixture, str)
               else mixture.to(device))
    run = experiments.run_2d(job.pop("name"), mixture, job.pop("profile"), job.pop("seed"),
                             **job)
    return _picklable(run)


def _picklable(run: Run) -> Run:
    """``run`` with the parametrizations of all its networks (the kept initial ones too)
    folded into their weights, so that it can come back from a worker."""
    for net in (run.G, run.D, run.G_ema, *run.extra.get("initial", ())):
        if net is not None:
            _fold_parametrizations(net)
    return run


def _fold_parametrizations(module) -> None:
    """Replace every parametrized tensor of ``module`` by its current value, in place
    (a parametrized module does not pickle)."""
    from torch.nn.utils import parametrize

    for m in module.modules():
        if parametrize.is_parametrized(m):
            for name in list(m.parametrizations):
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)


def table_2d(runs: dict[str, list[Run]], seed: int = 0):
    """Every run's final numbers, one row per mixture and seed, with the W2 floor, the
    discriminator updates it received and whether it settled (:func:`settled_label`)."""
    rows = {}
    for mix, rs in runs.items():
        for k, r in enumerate(rs):
            m = r.metrics
            rows[f"{mix}, seed {seed + k}"] = {
                "modes (3 std)": f"{m.modes}/{m.total_modes}",
                "modes found": f"{m.modes_radius}/{m.total_modes}",
                "high quality %": round(m.high_quality, 1), "W2": round(m.w2, 3),
                "W2 floor": round(m.w2_floor, 3), "D updates": f"{r.d_updates:,}",
                "settled": settled_label(r)}
    return plots.table(rows)


def noise_tolerances(run: Run, mixture: str | data.Mixture | None = None) -> dict[str, float]:
    """The settled rule's tolerances for ``run`` widened to its counts' own sampling noise:
    :func:`ganlib.readout.noise_tolerances` of its final samples, which are the generator at
    the budget itself, on ``mixture`` (default: the one it was trained on, kept by
    :func:`ganlib.experiments.run_2d`). Computed once per mixture and kept in ``run.extra``."""
    mix = run.extra.get("mixture") if mixture is None else mixture
    if mix is None:
        raise ValueError("this run does not say which mixture it was trained on: pass "
                         "mixture= (a name such as 'ring8', or a data.Mixture)")
    mix = data.MIXTURES[mix]() if isinstance(mix, str) else mix.to("cpu")
    key = (mix.name, tuple(mix.centers.flatten().tolist()), mix.std)
    cache = run.extra.setdefault("tolerances", {})
    if key not in cache:
        cache[key] = readout.noise_tolerances(run.samples.cpu(), mix, len(run.samples))
    return cache[key]


def settled_label(run: Run, mixture: str | data.Mixture | None = None) -> str:
    """"yes" when the settled rule holds, "within noise" when it holds only with the
    tolerances widened to the run's sampling noise (:func:`noise_tolerances`), else "no"."""
    if readout.run_settled(run.curve):
        return "yes"
    if readout.run_settled(run.curve, tolerances=noise_tolerances(run, mixture)):
        return "within noise"
    return "no"


def figure_2d(runs: dict[str, list[Run]], seed: int = 0):
    """Top: the final samples of each mixture's first seed. Bottom: modes found (0.3
    spacings) and covered (3 std) against the step, every seed."""
    mixes = list(runs)
    fig, axes = plt.subplots(2, len(mixes), figsize=(4.2 * len(mixes), 7.4),
                             gridspec_kw={"height_ratios": [1.2, 1]}, squeeze=False)
    for j, mix in enumerate(mixes):
        source = data.MIXTURES[mix]()
        first = runs[mix][0]
        plots.scatter_2d(first.samples[:2000], source, ax=axes[0, j],
                         title=f"{mix}, seed {seed}, step {first.curve[-1]['step']:,}")
        ax = axes[1, j]
        for k, r in enumerate(runs[mix]):
            steps = [p["step"] for p in r.curve]
            color = plt.cm.tab10(k)
            ax.plot(steps, [p["modes_radius"] for p in r.curve], "-", color=color,
                    label=f"seed {seed + k}: found")
            ax.plot(steps, [p["modes"] for p in r.curve], ":", color=color,
                    label=f"seed {seed + k}: covered (3 std)")
        ax.set(xlabel="generator step", ylabel="modes", ylim=(-0.5, first.metrics.total_modes
                                                               + 0.5))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def glue_2d(prefix: str, runs: dict[str, list[Run]], profile: config.Profile) -> dict:
    """Glue ``{prefix}-{mixture}-verdict`` (a sentence from :func:`readout.verdict_2d`, each
    run judged settled within its own sampling noise, :func:`noise_tolerances`),
    ``{prefix}-steps-2d`` and ``{prefix}-d-updates-2d``; returns the verdicts."""
    import ganlib

    verdicts = {}
    for mix, rs in runs.items():
        verdicts[mix] = readout.verdict_2d([r.metrics for r in rs], [r.curve for r in rs],
                                           profile.steps_2d,
                                           [noise_tolerances(r) for r in rs])
        ganlib.glue(f"{prefix}-{mix}-verdict", verdicts[mix], display=False)
    first = next(iter(runs.values()))[0]
    ganlib.glue(f"{prefix}-steps-2d", f"{profile.steps_2d:,}", display=False)
    ganlib.glue(f"{prefix}-d-updates-2d", f"{first.d_updates:,}", display=False)
    return verdicts


# Loss ``name`` on Fashion-MNIST with the profile's image pair, scored by the evaluator
# (``keep_initial=True`` keeps the untrained networks in ``run.extra["initial"]``).
run_images = experiments.run_images


def images_many(jobs: list[dict], images: data.Images, device=None) -> list[Run]:
    """:func:`run_images` on ``images`` for every job (a dict of its other arguments:
    ``name``, ``profile``, ``seed``, and any keyword of ``run_images``); the runs in the order
    of ``jobs``.

    On a CPU the runs go to one worker process per core, one thread each: two image runs of
    the small pair side by side give 1.35 times the throughput of one after the other on
    two threads (``benchmarks/README.md``). Each run seeds itself, as in :func:`run_many`."""
    return _in_order(_image_job, jobs, device, images)


def _image_job(i: int, jobs: list[dict], images: data.Images, device) -> Run:
    job = dict(jobs[i])
    return _picklable(experiments.run_images(job.pop("name"), images.to(device),
                                             job.pop("profile"), job.pop("seed"), **job))


def figure_image(run: Run, title: str = "", keys: tuple[str, ...] = ("d_loss", "g_loss")):
    """The samples of the scored generator beside the curves of ``keys`` (History stats,
    e.g. "penalty", "d_real", "k")."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.6]})
    plots.sample_grid(run.samples[:64], ax=axes[0], title=title or None)
    plots.curves(run.history, keys, ax=axes[1],
                 smooth=max(1, len(run.history.steps) // 40), title=", ".join(keys))
    fig.tight_layout()
    return fig


def glue_image(prefix: str, run: Run) -> str:
    """Glue ``{prefix}-img-verdict`` (:func:`readout.verdict_image`), ``{prefix}-img-steps``
    (generator steps), ``{prefix}-img-d-updates`` and the scores (``-fd``, ``-fd-floor``,
    ``-recall``, ``-precision``, ``-classes``)."""
    import ganlib

    m = run.extra["scores"]
    verdict = readout.verdict_image(m)
    ganlib.glue(f"{prefix}-img-verdict", verdict, display=False)
    ganlib.glue(f"{prefix}-img-steps", f"{run.steps:,}", display=False)
    ganlib.glue(f"{prefix}-img-d-updates", f"{run.d_updates:,}", display=False)
    ganlib.glue(f"{prefix}-img-fd", f"{m.fd:.1f}", display=False)
    ganlib.glue(f"{prefix}-img-fd-floor", f"{m.floor.fd:.2f}", display=False)
    ganlib.glue(f"{prefix}-img-recall", f"{m.recall:.2f}", display=False)
    ganlib.glue(f"{prefix}-img-precision", f"{m.precision:.2f}", display=False)
    ganlib.glue(f"{prefix}-img-classes", f"{round(10 * m.class_coverage)}", display=False)
    return verdict


def glue_two_rates(prefix: str, loss: str, root, budget: int, seen) -> dict:
    """Glue ``{prefix}-seen`` (the seeds the ratio's search ran), ``{prefix}-budget``,
    ``{prefix}-parts`` and ``{prefix}-verdict`` for ``loss``'s committed runs under ``root``
    at equal rates and at its ratio (:func:`ganlib.two_rates.readings`, read at ``budget``
    and at 16,000 steps, and :func:`ganlib.two_rates.describe`); returns the seed-by-seed
    table (:func:`ganlib.two_rates.table`)."""
    import ganlib
    from ganlib import two_rates

    rates = two_rates.readings(loss, root, budget)
    parts, verdict = two_rates.describe(rates, seen)
    for key, value in (("seen", " and ".join(map(str, seen))), ("budget", f"{budget:,}"),
                       ("parts", parts), ("verdict", verdict)):
        ganlib.glue(f"{prefix}-{key}", value, display=False)
    return two_rates.table(rates)


def glue_ladder(prefix: str, loss: str, root, rungs: dict | None = None) -> dict[str, str]:
    """Glue ``{prefix}-ladder-{mixture}``: where the comparison chapter reads ``loss`` on each
    mixture, the first rung of its ladder at which most of the loss's seeds settled
    (:func:`ganlib.ladder.first_settled` on :func:`ganlib.ladder.book_ladder` of the
    committed grids under ``root``, or on ``rungs``, that ladder already built), with the
    seeds settled within their noise and at full coverage there, and the rungs passed that
    hold no run of the loss; returns the phrases."""
    import ganlib
    from ganlib import ladder

    out = {}
    for mix, mine in (rungs or ladder.book_ladder(root)).items():
        where = ladder.first_settled(mine, loss, mix)
        if where.rung is None:
            held = [r for r in mine if r not in where.unrun]  # the rungs with its runs
            out[mix] = ("at none of its readings" + (
                f", up to {ladder.order(held)[-1].label}" if held else ""))
        else:
            t = where.rung.runs.tally(loss, mix, where.rung.budget)
            out[mix] = (f"at {where.rung.label} ({t['settled']} of {t['n']} seeds settled "
                        f"within their noise, {t['full']} at full coverage)")
        if where.unrun:
            out[mix] += ("; it has no runs at " + ", ".join(r.label for r in where.unrun))
        ganlib.glue(f"{prefix}-ladder-{mix}", out[mix], display=False)
    return out
