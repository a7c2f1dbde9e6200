"""The fast paths: CUDA graphs (GPU only), many runs at once (ganlib.ensemble), the options
of fit, the command line and the benchmarks' reference loop."""

import json
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from ganlib import data, ensemble, losses, models, stacked, train
from ganlib.__main__ import main as cli
from ganlib.objective import Objective

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
KEYS = ("d_loss", "g_loss", "g_grad_norm", "d_real", "d_fake")


def gradient_penalty(D, real, fake, y=None):
    """A per-sample WGAN-GP-style penalty (random interpolation, double backward)."""
    eps = torch.rand(len(real), 1, device=real.device)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return ((g.norm(dim=1) - 1) ** 2).mean()


def gp_objective():
    ns = losses.get("nonsaturating")
    return Objective("test-gp", ns.d_loss, ns.g_loss, penalty=gradient_penalty)


def clip_objective():
    return Objective("test-clip", lambda r, f: f.mean() - r.mean(), lambda f, r: -f.mean(),
                     clip=0.05, optimizer="rmsprop", lr=5e-5, n_critic=2)


def separate(objective, seed, steps, device="cpu", log_every=10, **kw):
    torch.manual_seed(seed)
    G, D = (m.to(device) for m in models.pair("2d"))
    h = train.fit(G, D, objective, data.ring8(device=device), steps=steps, batch_size=64,
                  seed=seed, log_every=log_every, **kw)
    return G, D, h


def assert_close(a: train.History, b: train.History, rtol=1e-4, atol=1e-5):
    assert a.steps == b.steps
    assert set(a.stats) == set(b.stats)
    for k in a.stats:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


# --- fit: the path it takes and its options ------------------------------------------------

def test_cpu_takes_the_eager_path_and_refuses_graphs():
    *_, h = separate(losses.get("nonsaturating"), 0, 5)
    assert h.path == "eager"
    G, D = models.pair("2d")
    with pytest.raises(ValueError, match="CUDA"):
        train.fit(G, D, losses.get("nonsaturating"), data.ring8(), steps=2, graphs=True)
    with pytest.raises(ValueError, match="double backward"):
        train.fit(G, D, gp_objective(), data.ring8(), steps=2, compile=True)


def test_bf16_and_channels_last_train():
    *_, h = separate(losses.get("nonsaturating"), 0, 5, bf16=True)
    *_, plain = separate(losses.get("nonsaturating"), 0, 5)
    assert np.isfinite(h["d_loss"]).all()
    # bfloat16 arithmetic: not the float32 numbers, but near them (8 bits of mantissa)
    assert not np.array_equal(h["d_loss"], plain["d_loss"])
    np.testing.assert_allclose(h["d_loss"], plain["d_loss"], rtol=5e-2)
    g = torch.Generator().manual_seed(0)
    images = data.Images(torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (16,), generator=g))
    G, D = models.pair("image")
    h = train.fit(G, D, losses.get("nonsaturating"), images, steps=1, batch_size=4,
                  channels_last=True, n_fixed=4)
    assert np.isfinite(h["d_loss"]).all() and h.samples[1].shape == (4, 1, 28, 28)
    assert D.features[0].weight.is_contiguous(memory_format=torch.channels_last)


class WithHead(Objective):
    """An objective owning a trainable head that learns from the generator's loss."""

    def __init__(self):
        ns = losses.get("nonsaturating")
        super().__init__("with-head", ns.d_loss, ns.g_loss)
        self.head = nn.Linear(2, 1)

    def extra_modules(self):
        return {"head": self.head}

    def generator_step(self, D, real, fake, y=None, z=None):
        loss, stats = super().generator_step(D, real, fake, y, z)
        return loss + self.head(fake).pow(2).mean(), stats


def test_an_objective_head_does_not_step_the_discriminator_again():
    torch.manual_seed(0)
    _, D_plain, _ = separate(losses.get("nonsaturating"), 0, 1)
    obj = WithHead()
    head = obj.head.weight.detach().clone()
    _, D_head, _ = separate(obj, 0, 1)
    for a, b in zip(D_plain.parameters(), D_head.parameters()):
        assert torch.equal(a, b)  # one discriminator update per critic step, not two
    assert not torch.equal(obj.head.weight, head)


@pytest.mark.parametrize("make", [gp_objective, clip_objective])
def test_resume_is_exact_with_penalties_clipping_and_n_critic(tmp_path, make):
    *_, full = separate(make(), 0, 20)
    ck = tmp_path / "ck.pt"
    separate(make(), 0, 10, checkpoint=ck)
    *_, resumed = separate(make(), 0, 20, resume=ck)
    for k in full.stats:
        assert np.array_equal(full[k], resumed[k]), k


# --- many runs at once ------------------------------------------------------------------

def batch_of_losses():
    """Losses that share the 2-D pair, with penalties, clipping, n_critic, g_needs_real,
    instance noise and three optimiser settings between them."""
    return [losses.get("nonsaturating"), losses.get("ragan"), losses.get("wgan-gp"),
            losses.get("wgan"), losses.get("dragan"), losses.get("lsgan", instance_noise=0.1),
            gp_objective(), clip_objective()]


def test_fit_many_equals_separate_runs():
    objectives = batch_of_losses()
    seeds = list(range(len(objectives)))
    nets = []
    for s in seeds:
        torch.manual_seed(s)
        nets.append(models.pair("2d"))
    batched = ensemble.fit_many(objectives, seeds, data.ring8(), steps=12, batch_size=64,
                                nets=nets, log_every=5, sample_every=6)
    # batched and single matrix products round differently, and Adam turns a rounding flip in a
    # near-zero gradient into a full step (RaGAN drifts by 3e-4 in 20 steps); a wrong random
    # stream or step differs by O(0.1) from the first step (and see the exact test below)
    tol = {"rtol": 1e-3, "atol": 1e-3}
    for o, s, h, (G, D) in zip(objectives, seeds, batched, nets):
        G1, D1, h1 = separate(o, s, 12, sample_every=6)
        assert h.path == "vmap" and h.loss == o.name and not h.diverged
        assert_close(h, h1, **tol)
        assert set(h.samples) == set(h1.samples) == {6, 12}
        torch.testing.assert_close(h.samples[12], h1.samples[12], **tol)
        for a, b in zip([*G.parameters(), *D.parameters()], [*G1.parameters(),
                                                            *D1.parameters()]):
            torch.testing.assert_close(a, b, **tol)


def test_one_batched_run_is_bit_for_bit_fit():
    for seed, o in enumerate(batch_of_losses()):
        (h,) = ensemble.fit_many([o], [seed], data.ring8(), steps=6, batch_size=64, log_every=4)
        *_, h1 = separate(o, seed, 6)
        assert h.steps == h1.steps
        for k in h1.stats:
            assert np.array_equal(h[k], h1[k]), (o.name, k)


def test_stacked_products_are_the_networks_and_anything_else_goes_through_vmap():
    torch.manual_seed(0)
    G, D = models.pair("2d")
    params = {n: p.detach()[None].repeat(3, *[1] * p.dim()) for n, p in D.named_parameters()}
    layers = stacked.mlp_layers(D, params)
    assert layers is not None and len(layers) == 7  # 4 Linear + 3 LeakyReLU
    x = torch.randn(3, 10, 2)
    torch.testing.assert_close(stacked.forward(layers, params, x).squeeze(-1),
                               D(x.reshape(30, 2)).reshape(3, 10))

    class Scaled(nn.Module):  # a leaf the chain does not know: not an element-wise activation
        def forward(self, x):
            return 2 * x

    odd = models.MLPDiscriminator(activation=Scaled)
    assert stacked.mlp_layers(odd, {n: p.detach()[None] for n, p in
                                      odd.named_parameters()}) is None
    nets = []
    for s in (0, 1):
        torch.manual_seed(s)
        nets.append((models.MLPGenerator(), models.MLPDiscriminator(activation=Scaled)))
    ref = []
    for s in (0, 1):
        torch.manual_seed(s)
        G1, D1 = models.MLPGenerator(), models.MLPDiscriminator(activation=Scaled)
        ref.append(train.fit(G1, D1, losses.get("nonsaturating"), data.ring8(), steps=6,
                             batch_size=64, seed=s, log_every=3))
    batched = ensemble.fit_many(losses.get("nonsaturating"), [0, 1], data.ring8(), steps=6,
                                batch_size=64, nets=nets, log_every=3)
    for h, h1 in zip(batched, ref):
        assert_close(h, h1, rtol=1e-3, atol=1e-3)


def test_fit_many_builds_networks_from_seeds_and_shares_one_objective():
    a, b = ensemble.fit_many(losses.get("nonsaturating"), [0, 1], data.ring8(), steps=5,
                             batch_size=64, log_every=5)
    *_, h0 = separate(losses.get("nonsaturating"), 0, 5)
    assert_close(a, h0)
    assert not np.allclose(a["d_loss"], b["d_loss"])


def test_fit_many_records_a_diverged_run_and_trains_the_others():
    nets = []
    for s in (0, 1):
        torch.manual_seed(s)
        nets.append(models.pair("2d"))
    with torch.no_grad():
        nets[0][1].head.weight.fill_(float("nan"))
    bad, good = ensemble.fit_many(losses.get("nonsaturating"), [0, 1], data.ring8(), steps=10,
                                  batch_size=64, nets=nets, log_every=5)
    assert "step 1" in bad.diverged and bad.steps == []
    *_, h1 = separate(losses.get("nonsaturating"), 1, 10)
    assert_close(good, h1)


def test_fit_many_refuses_what_it_cannot_batch():
    class Stateful(Objective):
        def after_generator_step(self, d_loss, g_loss, stats):
            pass

    ns = losses.get("nonsaturating")
    with pytest.raises(ValueError, match="overrides Objective.after_generator_step"):
        ensemble.fit_many(Stateful("s", ns.d_loss, ns.g_loss), [0], data.ring8(), steps=1)
    with pytest.raises(ValueError, match="one objective per seed"):
        ensemble.fit_many([ns, ns], [0], data.ring8(), steps=1)
    nets = [models.pair("2d"), (models.MLPGenerator(hidden=64), models.MLPDiscriminator())]
    with pytest.raises(ValueError, match="same parameter names and shapes"):
        ensemble.fit_many(ns, [0, 1], data.ring8(), steps=1, nets=nets)
    assert ensemble.supports(ns) is None and ensemble.supports(WithHead()) is not None
    for name in ("began", "ebgan", "infogan", "acgan", "cgan"):
        assert ensemble.supports(losses.get(name)) is not None, name


# --- the command line ---------------------------------------------------------------------

def test_cli_trains_writes_and_resumes(tmp_path, capsys, monkeypatch):
    from ganlib import metrics

    monkeypatch.setattr(metrics, "wasserstein2", lambda x, y: 0.0)  # exact OT takes seconds
    full, part = tmp_path / "full", tmp_path / "part"
    assert cli(["train", "--loss", "nonsaturating", "--steps", "12", "--batch", "64",
                "--out", str(full)]) == 0
    summary = json.loads(capsys.readouterr().out)  # on the best device there is
    assert summary["path"] == ("cuda-graph" if torch.cuda.is_available() else "eager")
    assert summary["total_modes"] == 8
    assert {p.name for p in full.iterdir()} >= {"checkpoint.pt", "history.json",
                                               "samples_000012.png"}
    cli(["train", "--loss", "nonsaturating", "--steps", "6", "--batch", "64", "--out", str(part)])
    cli(["train", "--loss", "nonsaturating", "--steps", "12", "--batch", "64", "--out", str(part),
         "--resume"])
    a, b = (json.loads((d / "history.json").read_text()) for d in (full, part))
    assert a["steps"] == b["steps"] == list(range(1, 13))
    assert a["stats"] == b["stats"]


@pytest.mark.parametrize("argv, message", [
    (["train", "--loss", "nope"], "unknown loss 'nope'; choose from: minimax, nonsaturating,"),
    (["train", "--loss", "minimax", "--data", "mnist"], "invalid choice: 'mnist'"),
    (["train", "--loss", "minimax", "--steps", "0"], "--steps must be a positive integer"),
    (["train", "--loss", "minimax", "--resume", "--out", "/nonexistent"], "no checkpoint"),
    (["train", "--loss", "minimax", "--data", "fashion-mnist", "--root", "/nonexistent"],
     None),
])
def test_cli_bad_arguments_are_usage_errors(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path)
    monkeypatch.delenv("GANLIB_DATA", raising=False)
    with pytest.raises(SystemExit) as e:
        cli(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and (message or "Fashion-MNIST (train) not found") in err


def test_cli_help_lists_losses_and_datasets(capsys):
    with pytest.raises(SystemExit):
        cli(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in losses.names())
    assert "ring8, grid25, fashion-mnist" in out


# --- the benchmarks' reference loop ------------------------------------------------------

def test_benchmark_reference_loop_and_sweep_plan(monkeypatch):
    import pathlib

    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parents[1]))
    from benchmarks import epoch, sweep2d

    g = torch.Generator().manual_seed(0)
    images = data.Images(torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (64,), generator=g))
    x, y = epoch.FashionDataset(images)[3]
    assert x.shape == (1, 28, 28) and -1 <= x.min() and x.max() <= 1 and isinstance(y, int)
    torch.testing.assert_close(x, data.to_signed_unit(images.images[3]), atol=1e-6, rtol=0)
    G, D = models.pair("image")
    hist = epoch.naive_loop(losses.get("nonsaturating"), G, D, epoch.FashionDataset(images), 5,
                            torch.device("cpu"), batch_size=16)  # 4 batches a pass: wraps once
    assert len(hist["D_loss"]) == len(hist["G_loss"]) == 5
    names = sweep2d.batchable_losses()
    assert {"minimax", "nonsaturating", "wgan-gp"} <= set(names) and "began" not in names
    plan = sweep2d.plan(names, 2 * len(names) + 1)
    assert plan[0] == (names[0], 0) and plan[-1] == (names[0], 2)


# --- CUDA graphs (GPU only) --------------------------------------------------------------

@cuda
@pytest.mark.parametrize("make", [lambda: losses.get("nonsaturating"), gp_objective,
                                  clip_objective])
def test_graphed_and_eager_steps_agree_on_the_gpu(make):
    *_, eager = separate(make(), 0, 50, device="cuda", graphs=False)
    *_, graphed = separate(make(), 0, 50, device="cuda")
    assert eager.path == "eager" and graphed.path == "cuda-graph"
    assert_close(graphed, eager, rtol=1e-3, atol=1e-4)


@cuda
def test_graphed_image_pair_agrees_with_eager_on_the_gpu(monkeypatch):
    """Every step of the first 20 (3 eager warm-up steps, then replays of the recorded one)
    agrees with the eager run's. Training amplifies rounding step by step (over 50 steps the
    two drifted 1% apart on an H200), so the runs are compared early, with cuDNN choosing
    the same deterministic kernels in both."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    images = data.Images(torch.randint(0, 256, (512, 1, 28, 28), dtype=torch.uint8),
                         torch.randint(0, 10, (512,))).to("cuda")
    runs = []
    for graphs in (False, None):
        torch.manual_seed(0)
        G, D = (m.cuda() for m in models.pair("image"))
        runs.append(train.fit(G, D, losses.get("nonsaturating"), images, steps=20, graphs=graphs,
                              log_every=1))
    assert runs[1].path == "cuda-graph"
    assert_close(runs[1], runs[0], rtol=1e-4, atol=1e-5)


@cuda
def test_a_step_that_syncs_falls_back_to_eager_with_a_warning():
    class Syncing(Objective):
        def after_generator_step(self, d_loss, g_loss, stats):
            self.last = float(d_loss)  # a host read: cannot be recorded

    ns = losses.get("nonsaturating")
    with pytest.warns(UserWarning, match="training eagerly"):
        *_, h = separate(Syncing("syncing", ns.d_loss, ns.g_loss), 0, 20, device="cuda")
    assert h.path == "eager"
    torch.rand(8, device="cuda")  # the failed recording left the random generator usable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        *_, ref = separate(Syncing("syncing", ns.d_loss, ns.g_loss), 0, 20, device="cuda",
                           graphs=False)
    assert_close(h, ref, rtol=0, atol=0)


@cuda
def test_graphed_run_resumes_on_the_gpu(tmp_path):
    *_, full = separate(losses.get("nonsaturating"), 0, 30, device="cuda")
    ck = tmp_path / "ck.pt"
    separate(losses.get("nonsaturating"), 0, 15, device="cuda", checkpoint=ck)
    *_, resumed = separate(losses.get("nonsaturating"), 0, 30, device="cuda", resume=ck)
    assert resumed.path == "cuda-graph"
    assert_close(full, resumed, rtol=1e-5, atol=1e-6)


@cuda
def test_fit_many_equals_separate_runs_on_the_gpu():
    """The batched products round differently from one run's on a GPU (other cuBLAS
    kernels), and training amplifies that step by step, so the runs are compared over their
    first 5 steps, each step logged."""
    objectives = batch_of_losses()
    seeds = list(range(len(objectives)))
    hs = ensemble.fit_many(objectives, seeds, data.ring8(device="cuda"), steps=5,
                           batch_size=64, log_every=1)
    for o, s, h in zip(objectives, seeds, hs):
        *_, h1 = separate(o, s, 5, device="cuda", graphs=False, log_every=1)
        assert_close(h, h1, rtol=1e-3, atol=1e-4)
