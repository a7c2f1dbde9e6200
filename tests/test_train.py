"""The training loop: determinism, resuming, the NaN guard and checkpoint safety."""

import numpy as np
import pytest
import torch

from ganlib import config, data, experiments, losses, models, train


def run(steps=40, seed=0, batch_size=64, **kw):
    torch.manual_seed(seed)
    G, D = models.pair("2d")
    h = train.fit(G, D, losses.get("nonsaturating"), data.ring8(), steps=steps,
                  batch_size=batch_size, seed=seed, log_every=10, sample_every=20,
                  progress=False, **kw)
    return G, D, h


def test_same_seed_gives_identical_history():
    _, _, a = run()
    _, _, b = run()
    assert a.steps == b.steps == list(range(1, 41))
    for k in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"):
        assert np.array_equal(a[k], b[k]), k
    assert all(torch.equal(a.samples[s], b.samples[s]) for s in a.samples)
    _, _, c = run(seed=1)
    assert not np.array_equal(a["d_loss"], c["d_loss"])


def test_history_records_what_the_book_plots():
    G, _, h = run()
    assert set(h.samples) == {20, 40} and h.samples[40].shape == (64, 2)
    assert h.seconds > 0 and np.isfinite(h["g_grad_norm"]).all()
    assert h.loss == "nonsaturating" and h.path == "eager"
    restored = train.History.from_dict(h.to_dict())
    assert restored.path == "eager" and restored.loss == h.loss
    assert restored.steps == h.steps and restored.stats == h.stats
    assert restored.wall_time == h.wall_time and restored.seconds == h.seconds
    assert restored.samples.keys() == h.samples.keys()
    assert all(torch.equal(restored.samples[k], h.samples[k]) for k in h.samples)


def test_resume_matches_an_uninterrupted_run(tmp_path):
    _, _, full = run(steps=40)
    ck = tmp_path / "ck.pt"
    run(steps=20, checkpoint=ck)
    G, D, resumed = run(steps=40, resume=ck)
    assert np.array_equal(full["d_loss"], resumed["d_loss"])
    assert np.array_equal(full["g_loss"], resumed["g_loss"])


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    ck = tmp_path / "ck.pt"
    G, D = models.pair("2d")
    obj = losses.get("nonsaturating")
    train.fit(G, D, obj, data.ring8(), steps=10, checkpoint=ck, progress=False)
    good = torch.load(ck, weights_only=True)["step"]
    with torch.no_grad():
        D.head.weight.fill_(float("nan"))
    with pytest.raises(train.TrainingDiverged, match="non-finite"):
        train.fit(G, D, obj, data.ring8(), steps=30, checkpoint=ck, checkpoint_every=5,
                  log_every=5, progress=False)
    assert torch.load(ck, weights_only=True)["step"] == good


def test_checkpoint_from_another_loss_or_net_is_refused(tmp_path):
    ck = tmp_path / "ck.pt"
    G, D = models.pair("2d")
    train.fit(G, D, losses.get("nonsaturating"), data.ring8(), steps=2, checkpoint=ck,
              progress=False)
    with pytest.raises(ValueError, match="for loss 'nonsaturating'"):
        train.load_checkpoint(ck, G, D, losses.get("minimax"))
    G2 = models.MLPGenerator(hidden=64)
    with pytest.raises(ValueError, match="architecture"):
        train.load_checkpoint(ck, G2, D, losses.get("nonsaturating"))


def test_resume_refuses_other_data_another_batch_fewer_steps_and_non_finite_weights(tmp_path):
    ck = tmp_path / "ck.pt"
    run(steps=20, checkpoint=ck)
    with pytest.raises(ValueError, match="trained with data ring8, not grid25"):
        G, D = models.pair("2d")
        train.fit(G, D, losses.get("nonsaturating"), data.grid25(), steps=40, batch_size=64,
                  resume=ck, progress=False)
    with pytest.raises(ValueError, match="trained with batch size 64, not 32"):
        run(steps=40, resume=ck, batch_size=32)
    with pytest.raises(ValueError, match="at step 20, beyond the 10 steps"):
        run(steps=10, resume=ck)
    state = torch.load(ck, weights_only=True)
    state["D"]["head.weight"][0] = float("inf")
    torch.save(state, ck)
    with pytest.raises(ValueError, match="non-finite weights"):
        run(steps=40, resume=ck)


@pytest.mark.parametrize("content, message", [
    (b"", "an empty file"), (b"PK\x03\x04 not really a zip", "truncated or corrupt"),
    (None, "is a directory"),
])
def test_an_unreadable_checkpoint_is_a_value_error_naming_the_file(tmp_path, content, message):
    ck = tmp_path / "ck.pt"
    ck.mkdir() if content is None else ck.write_bytes(content)
    with pytest.raises(ValueError, match=message) as e:
        train.read_checkpoint(ck)
    assert str(ck) in str(e.value) and "weights_only" not in str(e.value)


def _rates_seen(**kw):
    """The learning rates of (D, G) at every step of a 10-step run with ``kw``."""
    objective, optimizers, seen = losses.get("nonsaturating"), [], []
    build = objective.make_optimizer

    def make(*args, **kwargs):
        optimizers.append(build(*args, **kwargs))
        return optimizers[-1]

    objective.make_optimizer = make
    G, D = models.pair("2d")
    train.fit(G, D, objective, data.ring8(), steps=10, batch_size=16, lr=1e-3,
              progress=False, callback=lambda step: seen.append(
                  [g["lr"] for opt in optimizers for g in opt.param_groups]), **kw)
    return np.array(seen)


def test_lr_decay_lowers_both_rates_linearly_over_the_last_steps():
    np.testing.assert_allclose(_rates_seen(), 1e-3)
    decayed = _rates_seen(lr_decay=0.5)  # the last 5 of 10 steps: 5/5, 4/5, ..., 1/5
    np.testing.assert_allclose(decayed[:, 0], decayed[:, 1])
    np.testing.assert_allclose(decayed[:, 0], 1e-3 * np.array([1] * 6 + [0.8, 0.6, 0.4, 0.2]))
    np.testing.assert_allclose(_rates_seen(lr_decay=1.0)[:, 0], 1e-4 * np.arange(10, 0, -1))


class _Interrupt(Exception):
    pass


def _interrupt_at(stop):
    def callback(step):
        if step == stop:
            raise _Interrupt
    return callback


def test_lr_decay_changes_only_the_decayed_steps_and_resumes_exactly(tmp_path):
    _, _, plain = run(steps=40)
    _, _, decayed = run(steps=40, lr_decay=0.5)
    # the loss of step t is taken before its update; steps 21 and 22 run at 20/20 and
    # 19/20 of the rate, so the first 22 losses see the same weights as without a decay
    assert np.array_equal(plain["d_loss"][:22], decayed["d_loss"][:22])
    assert not np.array_equal(plain["d_loss"][22:], decayed["d_loss"][22:])
    # stopped at step 30, mid-decay (its checkpoint holds the decayed rates), then resumed
    ck = tmp_path / "ck.pt"
    with pytest.raises(_Interrupt):
        run(steps=40, lr_decay=0.5, checkpoint=ck, checkpoint_every=30,
            callback=_interrupt_at(30))
    _, _, resumed = run(steps=40, resume=ck, lr_decay=0.5)
    assert np.array_equal(decayed["d_loss"], resumed["d_loss"])
    assert np.array_equal(decayed["g_loss"], resumed["g_loss"])
    with pytest.raises(ValueError, match="lr_decay"):
        run(steps=4, lr_decay=1.5)


def test_bad_arguments():
    G, D = models.pair("2d")
    with pytest.raises(ValueError, match="positive"):
        train.fit(G, D, losses.get("minimax"), data.ring8(), steps=0)
    with pytest.raises(ValueError, match="unknown model kind"):
        models.pair("3d")


def test_mode_metrics_on_perfect_and_collapsed_samples():
    from ganlib.metrics import mode_metrics

    ring = data.ring8()
    x, _ = ring.sample(4000, generator=torch.Generator().manual_seed(1))
    m = mode_metrics(x, ring)
    # within 3 std in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5) = 98.9%
    assert m.modes == 8 and m.high_quality == pytest.approx(98.9, abs=0.5) and m.kl < 0.01
    assert m.w2 < 0.5  # the finite-sample floor: mode counts differ between two samples
    collapsed = ring.centers[0] + 0.02 * torch.randn(4000, 2)
    m = mode_metrics(collapsed, ring)
    assert m.modes == 1 and m.kl == pytest.approx(np.log(8), abs=1e-6) and m.w2 > 1.5


def test_a_learning_rate_of_zero_is_respected():
    """lr_g=0 freezes the generator (it must not fall back to the default rate)."""
    torch.manual_seed(0)
    G, D = models.pair("2d")
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    train.fit(G, D, losses.get("nonsaturating"), data.ring8(), steps=3, batch_size=32,
              lr_g=0.0, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d0, D.parameters()))


class _Recorder(torch.nn.Module):
    """A generator that remembers its inputs (to check what the loop feeds it)."""

    def __init__(self, z_dim):
        super().__init__()
        self.z_dim, self.n_classes, self.inputs = z_dim, 0, []
        self.lin = torch.nn.Linear(z_dim, 2)

    def forward(self, z):
        self.inputs.append(z.detach().clone())
        return self.lin(z)


def test_infogan_snapshots_and_samples_use_its_latent_codes():
    obj, (G, D), _ = experiments.setup("infogan", "2d", seed=0)
    h = train.fit(G, D, obj, data.ring8(), steps=2, batch_size=32, sample_every=2, n_fixed=50,
                  progress=False)
    fixed = train.seeded_latent(obj.latent, 50, G.z_dim, 1234)
    assert torch.allclose(h.samples[2], train.generate(G, 50, z=fixed))
    # the categorical block of every input is one-hot, as InfoGAN's generator was trained on
    rec = _Recorder(G.z_dim)
    train.generate(rec, 300, batch=100, latent=obj.latent)
    z = torch.cat(rec.inputs)
    cat = z[:, obj.noise_dim:obj.noise_dim + obj.n_categories]
    assert z.shape == (300, G.z_dim)
    assert torch.equal(cat.sum(1), torch.ones(300)) and set(cat.unique().tolist()) == {0.0, 1.0}
    # without a latent the inputs are Gaussian in every coordinate
    rec.inputs.clear()
    train.generate(rec, 300)
    assert not set(torch.cat(rec.inputs).unique().tolist()) <= {0.0, 1.0}


def test_seeded_latent_is_reproducible_and_leaves_the_global_stream_alone():
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    a = train.seeded_latent(lambda n, d, dev: torch.randn(n, d, device=dev), 4, 3, 99)
    assert torch.equal(torch.rand(3), expected_next)
    b = train.seeded_latent(lambda n, d, dev: torch.randn(n, d, device=dev), 4, 3, 99)
    assert torch.equal(a, b)


def test_seeded_draws_reseed_no_gpu(monkeypatch):
    """Drawing under a seed on the CPU leaves every GPU's random stream alone: a GPU run's
    fixed samples, drawn that way, once reseeded its GPU with their seed (1234), so every
    seed of a GPU run trained on the same data and noise."""
    calls = []
    for name in ("manual_seed", "manual_seed_all"):
        monkeypatch.setattr(torch.cuda, name, lambda seed, name=name: calls.append(name))
    a = train.seeded_latent(lambda n, d, dev: torch.randn(n, d, device=dev), 4, 3, 7)
    G, _ = models.pair("2d")
    experiments._score(G, losses.get("nonsaturating"), data.ring8(), 64, 7)
    assert calls == []
    torch.manual_seed(7)
    assert torch.equal(a, torch.randn(4, 3))  # the CPU draw is what seed 7 gives


class _Recorded:
    """A mixture that keeps every real batch drawn from it."""

    def __init__(self, mixture):
        self.mixture, self.device, self.batches = mixture, mixture.device, []

    def sample(self, n):
        x, y = self.mixture.sample(n)
        self.batches.append(x.clone())
        return x, y


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_gpu_run_draws_its_data_from_its_own_seed():
    ring = data.ring8(device="cuda")
    firsts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        G, D = (m.cuda() for m in models.pair("2d"))
        source = _Recorded(ring)
        train.fit(G, D, losses.get("nonsaturating"), source, steps=1, batch_size=64, seed=seed,
                  graphs=False, progress=False)
        torch.manual_seed(seed)
        assert torch.equal(source.batches[0], ring.sample(64)[0])
        firsts.append(source.batches[0])
    assert not torch.equal(*firsts)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_objective_modules_follow_the_networks_to_the_gpu():
    obj, (G, D), _ = experiments.setup("infogan", "2d", seed=0)
    G, D = G.cuda(), D.cuda()  # InfoGAN's Q head was built on the CPU
    train.fit(G, D, obj, data.ring8(device="cuda"), steps=2, batch_size=32, progress=False)
    assert all(p.is_cuda for m in obj.extra_modules().values() for p in m.parameters())


def test_ema_is_the_moving_average_of_the_generators_weights():
    """``ema`` follows ema = d * ema + (1 - d) * G after every step t, d = min(decay,
    (1 + t) / (10 + t)) (G's weights recorded through ``callback``), and training itself is
    unchanged by it."""
    import copy

    torch.manual_seed(0)
    G, D = models.pair("2d")
    ema, decay = copy.deepcopy(G), 0.9
    expected = [p.detach().clone() for p in G.parameters()]

    def follow(step):
        d = min(decay, (1 + step) / (10 + step))
        for e, p in zip(expected, G.parameters()):
            e.mul_(d).add_(p.detach(), alpha=1 - d)

    h = train.fit(G, D, losses.get("nonsaturating"), data.ring8(), steps=40, batch_size=32,
                  progress=False, ema=ema, ema_decay=decay, callback=follow)
    for e, a, p in zip(expected, ema.parameters(), G.parameters()):
        assert torch.allclose(a, e, atol=1e-6) and not torch.allclose(a, p)
    torch.manual_seed(0)
    G2, D2 = models.pair("2d")
    plain = train.fit(G2, D2, losses.get("nonsaturating"), data.ring8(), steps=40,
                      batch_size=32, progress=False)
    assert np.array_equal(h["d_loss"], plain["d_loss"])
    assert all(torch.equal(a, b) for a, b in zip(G.parameters(), G2.parameters()))
    with pytest.raises(ValueError, match="ema_decay"):
        train.fit(G, D, losses.get("nonsaturating"), data.ring8(), steps=1, ema=ema,
                  ema_decay=1.0, progress=False)


def test_train_2d_scores_the_ema_generator_and_records_discriminator_updates():
    P = config.Profile("t", steps_2d=60, batch_2d=64, steps_image=1, batch_image=1,
                       n_eval_2d=500, n_eval_image=1, seeds=1)
    ring = data.ring8()
    obj = losses.get("wgan-gp")
    plain = experiments.train_2d(obj, ring, P, 0, eval_every=20, progress=False)
    averaged = experiments.train_2d(losses.get("wgan-gp"), ring, P, 0, ema=0.99,
                                    eval_every=20, progress=False)
    assert plain.d_updates == averaged.d_updates == 60 * 5
    assert [c["step"] for c in plain.curve] == [20, 40, 60]
    # the same training run (G's final weights agree), scored through another generator
    for a, b in zip(plain.G.parameters(), averaged.G.parameters()):
        assert torch.equal(a, b)
    assert averaged.G_ema is not None and plain.G_ema is None
    assert not torch.equal(plain.samples, averaged.samples)


@pytest.mark.parametrize("code_dim,engages", [(1, True), (8, False)])
def test_began_controller_engages_only_with_a_bottleneck(code_dim, engages):
    """With a 1-d code the 2-D autoencoder cannot reconstruct generated samples as well as
    gamma times the data early on, so k_t rises off 0; a code wider than the input learns
    the identity and k_t stays at 0."""
    from ganlib.losses._nets import MLPAutoencoder

    obj, (G, _), _ = experiments.setup("began", "ring8", seed=0, lr=2e-4)
    D = MLPAutoencoder(code_dim=code_dim)
    h = train.fit(G, D, obj, data.ring8(), steps=300, batch_size=64, progress=False)
    assert (h["k"].max() > 0.05) == engages, h["k"].max()


def test_an_objectives_lr_d_x_trains_d_at_that_multiple_of_gs_rate():
    from ganlib import ensemble

    def fit(objective, **kw):
        torch.manual_seed(0)
        G, D = models.pair("2d")
        h = train.fit(G, D, objective, data.ring8(), steps=8, batch_size=32, seed=0,
                      log_every=4, progress=False, **kw)
        return h, D

    four = losses.get("nonsaturating", lr_d_x=4.0)
    assert four.lr_d() == 4 * four.lr and four.lr_d(1e-3) == 4e-3
    h, D = fit(four, lr=1e-3)
    h_given, D_given = fit(losses.get("nonsaturating"), lr=1e-3, lr_d=4e-3)
    h_equal, _ = fit(losses.get("nonsaturating"), lr=1e-3)
    assert np.array_equal(h["d_loss"], h_given["d_loss"])
    assert all(torch.equal(a, b) for a, b in zip(D.parameters(), D_given.parameters()))
    assert not np.array_equal(h["d_loss"], h_equal["d_loss"])
    # an explicit lr_d wins over the objective's ratio
    h_over, _ = fit(four, lr=1e-3, lr_d=1e-3)
    assert np.array_equal(h_over["d_loss"], h_equal["d_loss"])
    # fit_many: the same rule, and runs with other ratios are batched apart
    runs = ensemble.fit_many([four, losses.get("nonsaturating")], [0, 0], data.ring8(),
                             steps=8, batch_size=32, lr=1e-3, log_every=4)
    np.testing.assert_allclose(runs[0]["d_loss"], h["d_loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(runs[1]["d_loss"], h_equal["d_loss"], rtol=1e-4, atol=1e-5)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lr_d_x"):
            losses.get("hinge", lr_d_x=bad)
