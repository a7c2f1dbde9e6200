"""Every registered loss: values computed by hand, shapes, clear errors, and 30 training steps."""

import math

import pytest
import torch

from ganlib import data, losses, models, train
from ganlib.losses import (
    acgan,
    began,
    ebgan,
    hinge,
    infogan,
    lsgan,
    nonsaturating,
    relativistic,
    wgan,
)

R = torch.tensor([0.5, -1.0, 2.0])  # real scores
F_ = torch.tensor([-0.5, 1.5, 0.0])  # fake scores
sp = lambda t: math.log1p(math.exp(t))  # softplus
mean = lambda xs: sum(xs) / len(xs)


def test_registry_is_in_chapter_order():
    assert losses.names() == ["minimax", "nonsaturating", "lsgan", "wgan", "wgan-gp", "dragan",
                              "hinge", "ebgan", "began", "cgan", "acgan", "infogan", "ragan",
                              "r1"]


@pytest.mark.parametrize("name, params, message", [
    ("wgan", {"n_critic": 0}, "n_critic must be an integer >= 1"),
    ("hinge", {"n_critic": 1.5}, "n_critic must be an integer >= 1"),
    ("wgan", {"clip": -0.01}, "clip must be a number > 0"),
    ("wgan", {"clip": 0}, "clip must be a number > 0"),
    ("wgan-gp", {"lam": -10}, "lam must be a number >= 0"),
    ("dragan", {"lam": -1}, "lam must be"), ("dragan", {"c": 0}, "c must be a number > 0"),
    ("r1", {"gamma": -1}, "gamma must be"), ("ebgan", {"margin": 0}, "margin must be"),
    ("ebgan", {"pt_weight": -0.1}, "pt_weight must be"),
    ("began", {"lambda_k": -1e-3}, "lambda_k must be"),
    ("infogan", {"lambda_cont": -1}, "lambda_cont must be"),
    ("nonsaturating", {"lr": -2e-4}, "lr must be"), ("minimax", {"lr": math.inf}, "lr must be"),
    ("lsgan", {"instance_noise": -0.1}, "instance_noise must be"),
    ("hinge", {"betas": (0.5, 1.0)}, "betas must be two numbers in"),
    ("hinge", {"optimizer": "sgd"}, "unknown optimizer 'sgd'"),
    ("cgan", {"n_critic": 0}, "n_critic must be"),
])
def test_loss_parameters_are_checked_where_they_are_given(name, params, message):
    with pytest.raises(ValueError, match=message):
        losses.get(name, **params)


def test_zero_is_a_valid_weight_and_learning_rate():
    assert losses.get("wgan-gp", lam=0).params["lambda"] == 0
    assert losses.get("nonsaturating", lr=0).lr == 0


def test_paper_defaults_live_in_the_objectives():
    w = losses.get("wgan")
    assert (w.clip, w.n_critic, w.optimizer, w.lr) == (0.01, 5, "rmsprop", 5e-5)
    gp = losses.get("wgan-gp")
    assert (gp.clip, gp.n_critic, gp.optimizer, gp.lr, gp.betas) == (None, 5, "adam", 1e-4,
                                                                      (0.0, 0.9))
    assert gp.params == {"lambda": 10.0, "one_sided": False}
    assert losses.get("dragan").params["lambda"] == 10.0
    b = losses.get("began")
    assert (b.gamma, b.lambda_k, float(b.k)) == (0.5, 0.001, 0.0)
    assert losses.get("ebgan").pt_weight == 0.1
    assert losses.get("r1", gamma=3.0).params == {"gamma": 3.0, "r2": False}
    assert losses.get("lsgan").params == {"a": 0.0, "b": 1.0, "c": 1.0}
    assert losses.get("wgan", lr=1e-4).lr == 1e-4  # every default can be overridden


def test_lsgan_matches_hand_values_in_both_codings():
    for coding_name, (a, b, c) in (("0-1-1", (0, 1, 1)), ("pearson", (-1, 1, 0))):
        assert lsgan.coding(coding_name) == (a, b, c)
        d = 0.5 * mean([(r - b) ** 2 for r in R.tolist()]) \
            + 0.5 * mean([(f - a) ** 2 for f in F_.tolist()])
        g = 0.5 * mean([(f - c) ** 2 for f in F_.tolist()])
        assert lsgan.d_loss(R, F_, a, b).item() == pytest.approx(d, rel=1e-6)
        assert lsgan.g_loss(F_, c).item() == pytest.approx(g, rel=1e-6)
        obj = losses.get("lsgan", coding=coding_name)
        assert obj.d_loss(R, F_).item() == pytest.approx(d, rel=1e-6)
        assert obj.g_loss(F_, None).item() == pytest.approx(g, rel=1e-6)
    assert losses.get("lsgan", coding=(0, 2, 2)).params == {"a": 0.0, "b": 2.0, "c": 2.0}


def test_wgan_and_hinge_match_hand_values():
    assert wgan.d_loss(R, F_).item() == pytest.approx(mean(F_.tolist()) - mean(R.tolist()))
    assert wgan.g_loss(F_).item() == pytest.approx(-mean(F_.tolist()))
    d = mean([max(0, 1 - r) for r in R.tolist()]) + mean([max(0, 1 + f) for f in F_.tolist()])
    assert hinge.d_loss(R, F_).item() == pytest.approx(d, rel=1e-6)
    assert hinge.g_loss(F_).item() == pytest.approx(-mean(F_.tolist()))
    # the margin: real scores above 1 and fake scores below -1 send no gradient
    r = torch.tensor([3.0, 0.0], requires_grad=True)
    f = torch.tensor([-3.0, 0.0], requires_grad=True)
    gr, gf = torch.autograd.grad(hinge.d_loss(r, f), (r, f))
    assert gr.tolist() == [0.0, -0.5] and gf.tolist() == [0.0, 0.5]


@pytest.mark.parametrize("form", relativistic.FORMS)
def test_relativistic_average_matches_hand_values(form):
    r, f = R.tolist(), F_.tolist()
    mr, mf = mean(r), mean(f)
    if form == "standard":
        d = mean([sp(-(x - mf)) for x in r]) + mean([sp(x - mr) for x in f])
        g = mean([sp(-(x - mr)) for x in f]) + mean([sp(x - mf) for x in r])
    else:
        d = mean([(x - mf - 1) ** 2 for x in r]) + mean([(x - mr + 1) ** 2 for x in f])
        g = mean([(x - mr - 1) ** 2 for x in f]) + mean([(x - mf + 1) ** 2 for x in r])
    assert relativistic.d_loss(R, F_, form).item() == pytest.approx(d, rel=1e-6)
    assert relativistic.g_loss(F_, R, form).item() == pytest.approx(g, rel=1e-6)
    obj = losses.get("ragan", form=form)
    assert obj.g_needs_real and obj.g_loss(F_, R).item() == pytest.approx(g, rel=1e-6)


def test_ebgan_matches_hand_values():
    e_r, e_f = torch.tensor([0.2, 0.4]), torch.tensor([0.5, 3.0])
    assert ebgan.d_loss(e_r, e_f, margin=1.0).item() == pytest.approx(0.3 + (0.5 + 0.0) / 2)
    assert ebgan.g_loss(e_f).item() == pytest.approx(1.75)
    x, rec = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    assert ebgan.energy(x, rec).item() == pytest.approx(2.5)  # (1 + 4) / 2
    assert ebgan.pullaway(torch.eye(3)).item() == pytest.approx(0.0, abs=1e-7)
    assert ebgan.pullaway(torch.ones(4, 3)).item() == pytest.approx(1.0, rel=1e-6)
    # two orthogonal pairs: of the 12 ordered pairs, 4 are parallel or antiparallel
    s = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -3.0]])
    assert ebgan.pullaway(s).item() == pytest.approx(4 / 12, rel=1e-6)


def test_began_matches_hand_values():
    x, rec = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5, 0.0]])
    assert began.reconstruction_loss(x, rec).item() == pytest.approx(0.75)
    l_r, l_f = torch.tensor([0.2, 0.4]), torch.tensor([0.6, 1.0])
    assert began.d_loss(l_r, l_f, k=0.25).item() == pytest.approx(0.3 - 0.25 * 0.8)
    assert began.g_loss(l_f).item() == pytest.approx(0.8)
    assert began.convergence(l_r, l_f, gamma=0.5).item() == pytest.approx(0.3 + abs(0.15 - 0.8))


def test_acgan_matches_hand_values():
    s_r, s_f = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0])
    c_r = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    c_f = torch.tensor([[0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    y = torch.tensor([0, 2])
    ce = lambda logits, k: math.log(sum(math.exp(v) for v in logits)) - logits[k]
    l_s = mean([sp(-1.0), sp(2.0)]) + mean([sp(0.5), sp(0.0)])
    l_c = mean([ce([2, 0, 0], 0), ce([0, 1, 0], 2)]) + mean([ce([0, 0, 3], 0), ce([1, 1, 1], 2)])
    assert acgan.d_loss(s_r, s_f, c_r, c_f, y, y).item() == pytest.approx(l_s + l_c, rel=1e-6)
    g_c = mean([ce([0, 0, 3], 0), ce([1, 1, 1], 2)])
    assert acgan.g_loss(s_f, c_f, y).item() == pytest.approx(
        mean([sp(-0.5), sp(0.0)]) + g_c, rel=1e-6)
    # the paper's literal G objective: maximise L_C - L_S, i.e. minimise E log(1 - D) + CE
    assert acgan.g_loss(s_f, c_f, y, saturating=True).item() == pytest.approx(
        -mean([sp(0.5), sp(0.0)]) + g_c, rel=1e-6)
    source, classes = acgan.split(torch.arange(8.0).reshape(2, 4))
    assert source.tolist() == [0.0, 4.0] and classes.shape == (2, 3)


def test_cgan_is_its_base_loss_given_labels():
    obj = losses.get("cgan")
    assert obj.conditional and obj.params["base"] == "nonsaturating"
    assert obj.d_loss(R, F_).item() == pytest.approx(nonsaturating.d_loss(R, F_).item())
    on_hinge = losses.get("cgan", base="hinge", lr=1e-4)
    assert on_hinge.lr == 1e-4
    assert on_hinge.d_loss(R, F_).item() == pytest.approx(hinge.d_loss(R, F_).item())
    on_wgan = losses.get("cgan", base="wgan")  # the base's own settings come along
    assert on_wgan.n_critic == 5 and on_wgan.clip == 0.01 and on_wgan.optimizer == "rmsprop"
    torch.manual_seed(0)
    G, D = losses.make_models("cgan", "2d")
    y, other = torch.tensor([0, 7]), torch.tensor([3, 1])
    real, fake = torch.zeros(2, 2), G(torch.randn(2, 2), y).detach()
    loss, _ = obj.discriminator_step(D, real, fake, y)
    # the labels reach D with both batches: the base loss of D's scores given those labels
    assert loss.item() == pytest.approx(nonsaturating.d_loss(D(real, y), D(fake, y)).item())
    assert loss.item() != pytest.approx(obj.discriminator_step(D, real, fake, other)[0].item())


def test_stateful_objectives_compose_their_loss_functions():
    real, z2 = torch.randn(8, 2), torch.randn(8, 2)
    G, D = losses.make_models("ebgan", "2d")
    fake = G(z2).detach()
    (rec_r, _), (rec_f, code_f) = D(real), D(fake)
    e_r, e_f = ebgan.energy(real, rec_r), ebgan.energy(fake, rec_f)
    obj = losses.get("ebgan", margin=2.0, pt_weight=0.3)
    assert obj.discriminator_step(D, real, fake)[0].item() == pytest.approx(
        ebgan.d_loss(e_r, e_f, 2.0).item(), rel=1e-6)
    assert obj.generator_step(D, real, fake)[0].item() == pytest.approx(
        (ebgan.g_loss(e_f) + 0.3 * ebgan.pullaway(code_f)).item(), rel=1e-6)

    obj = losses.get("began")
    obj.k.fill_(0.4)
    l_r, l_f = began.reconstruction_loss(real, D(real)[0]), began.reconstruction_loss(
        fake, D(fake)[0])
    assert obj.discriminator_step(D, real, fake)[0].item() == pytest.approx(
        began.d_loss(l_r, l_f, 0.4).item(), rel=1e-6)
    assert obj.generator_step(D, real, fake)[0].item() == pytest.approx(l_f.mean().item())

    G, D = losses.make_models("acgan", "2d")
    y = torch.arange(8)
    fake = G(z2, y).detach()
    (s_r, c_r), (s_f, c_f) = acgan.split(D(real)), acgan.split(D(fake))
    obj = losses.get("acgan")
    assert obj.discriminator_step(D, real, fake, y)[0].item() == pytest.approx(
        acgan.d_loss(s_r, s_f, c_r, c_f, y, y).item(), rel=1e-6)
    assert obj.generator_step(D, real, fake, y)[0].item() == pytest.approx(
        acgan.g_loss(s_f, c_f, y).item(), rel=1e-6)

    obj = losses.get("infogan", lambda_cat=1.0, lambda_cont=0.5)
    G, D = losses.make_models("infogan", "2d")
    z = obj.latent(8, G.z_dim, "cpu")
    fake = G(z).detach()
    q, (cat, cont) = obj.q(D.features(fake)), obj.codes(z)
    info = infogan.categorical_bound(q[:, :8], cat) + 0.5 * infogan.continuous_bound(q[:, 8:],
                                                                                     cont)
    # the bound is maximised by both players: it is subtracted from both losses
    assert obj.discriminator_step(D, real, fake)[0].item() == pytest.approx(
        (nonsaturating.d_loss(D(real), D(fake)) - info).item(), rel=1e-6)
    loss, stats = obj.generator_step(D, real, fake, None, z)
    assert loss.item() == pytest.approx((nonsaturating.g_loss(D(fake)) - info).item(), rel=1e-6)
    assert stats["info"].item() == pytest.approx(info.item(), rel=1e-6)


def test_infogan_latent_carries_the_codes():
    obj = losses.get("infogan")
    z = obj.latent(5, 11, "cpu")  # 2 noise + 8 categories + 1 continuous
    cat, cont = obj.codes(z)
    assert z[:, 2:10].sum(1).tolist() == [1.0] * 5 and torch.equal(z[:, 2:10].argmax(1), cat)
    assert cont.shape == (5, 1) and bool(((cont >= -1) & (cont < 1)).all())
    with pytest.raises(ValueError, match="G.z_dim is 10.*make_models"):
        obj.latent(5, 10, "cpu")


def test_make_models_builds_what_each_loss_needs():
    for name in losses.names():
        G, D = losses.make_models(name, "2d")
        assert G(torch.randn(3, G.z_dim), *(
            [torch.tensor([0, 1, 2])] if G.n_classes else [])).shape == (3, 2)
    assert not models.has_batchnorm(losses.make_models("wgan-gp", "image")[1])
    assert models.has_batchnorm(losses.make_models("nonsaturating", "image")[1])
    G, D = losses.make_models("acgan", "image")
    assert G.n_classes == 10 and D.n_classes == 0 and D.out_dim == 11
    assert losses.make_models("infogan", "image")[0].z_dim == 62 + 10 + 2
    rec, code = losses.make_models("began", "image")[1](torch.zeros(2, 1, 28, 28))
    assert rec.shape == (2, 1, 28, 28)
    assert losses.make_models("cgan", "2d", n_classes=25)[1].n_classes == 25


# --- bad input: each a clear error naming the fix ---------------------------------------------

def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown loss 'wgangp'.*wgan-gp"):
        losses.get("wgangp")
    with pytest.raises(ValueError, match="unknown loss 'lsgan2'.*lsgan"):
        losses.make_models("lsgan2", "2d")
    with pytest.raises(ValueError, match="unknown model kind 'mnist'"):
        losses.make_models("lsgan", "mnist")
    with pytest.raises(ValueError, match="unknown LSGAN coding 'chi2'.*pearson"):
        losses.get("lsgan", coding="chi2")
    with pytest.raises(ValueError, match="unknown relativistic form 'hinge'"):
        losses.get("ragan", form="hinge")
    with pytest.raises(ValueError, match="unknown DRAGAN perturbation 'normal'"):
        losses.get("dragan", perturbation="normal")
    with pytest.raises(ValueError, match="gamma is a ratio"):
        losses.get("began", gamma=2.0)
    with pytest.raises(ValueError, match="choose another base"):
        losses.get("cgan", base="ebgan")


PAIRS = [lambda r, f: lsgan.d_loss(r, f), lambda r, f: wgan.d_loss(r, f),
         lambda r, f: hinge.d_loss(r, f), lambda r, f: relativistic.d_loss(r, f),
         lambda r, f: relativistic.g_loss(f, r), lambda r, f: ebgan.d_loss(r, f),
         lambda r, f: began.d_loss(r, f, 0.5)]


@pytest.mark.parametrize("fn", PAIRS)
def test_mismatched_shapes_and_non_finite_scores_are_refused(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(torch.zeros(4), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="NaN or Inf"):
        fn(torch.zeros(2), torch.tensor([0.0, float("inf")]))


def test_non_finite_single_scores_are_refused():
    bad = torch.tensor([float("nan")])
    for fn in (lsgan.g_loss, wgan.g_loss, hinge.g_loss, ebgan.g_loss, began.g_loss,
               ebgan.pullaway):
        with pytest.raises(ValueError, match="NaN or Inf"):
            fn(bad)


def test_labels_must_be_integer_class_indices_in_range():
    s, c = torch.zeros(2), torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"labels must be in 0..2, found 0..3"):
        acgan.d_loss(s, s, c, c, torch.tensor([0, 1]), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"labels must be in 0..2, found -1..0"):
        acgan.g_loss(s, c, torch.tensor([-1, 0]))
    with pytest.raises(TypeError, match="labels.long"):
        infogan.categorical_bound(c, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        infogan.categorical_bound(c, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="1 \\+ n_classes"):
        acgan.split(torch.zeros(2))


def test_conditional_losses_refuse_missing_labels():
    for name in ("cgan", "acgan"):
        obj = losses.get(name)
        G, D = losses.make_models(name, "2d")
        with pytest.raises(ValueError, match="conditional=True"):
            obj.discriminator_step(D, torch.zeros(2, 2), torch.zeros(2, 2))


def test_autoencoder_losses_need_matching_reconstructions():
    with pytest.raises(ValueError, match="reconstruct its input's shape"):
        ebgan.energy(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        ebgan.pullaway(torch.ones(1, 3))


# --- every loss trains end to end ---------------------------------------------------------------

@pytest.mark.parametrize("name", losses.names())
def test_every_loss_trains_on_ring8(name):
    torch.manual_seed(0)
    obj = losses.get(name)
    G, D = losses.make_models(name, "2d")
    nets = {"G": G, "D": D, **obj.extra_modules()}
    before = {k: [p.detach().clone() for p in m.parameters()] for k, m in nets.items()}
    h = train.fit(G, D, obj, data.ring8(), steps=30, batch_size=32, log_every=10,
                  conditional=obj.conditional, progress=False)
    assert h.steps == list(range(1, 31))
    for key, values in h.stats.items():
        assert len(values) == 30 and all(math.isfinite(v) for v in values), key
    for k, m in nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], m.parameters())), k
    if name == "began":
        assert all(0.0 <= k <= 1.0 for k in h["k"]) and "m_global" in h.stats
    if name == "wgan":
        assert all(p.abs().max() <= 0.01 for p in D.parameters())


def test_began_k_survives_a_checkpoint(tmp_path):
    obj = losses.get("began", lambda_k=0.1)
    G, D = losses.make_models("began", "2d")
    train.fit(G, D, obj, data.ring8(), steps=3, batch_size=16, checkpoint=tmp_path / "c.pt",
              progress=False)
    fresh = losses.get("began", lambda_k=0.1)
    train.load_checkpoint(tmp_path / "c.pt", G, D, fresh)
    assert float(fresh.k) == float(obj.k) and float(obj.k) > 0


# --- one-sided label smoothing (Salimans et al. 2016, section 3.4) ---------------------------

def test_label_smoothing_matches_hand_values_and_one_is_the_plain_loss():
    a = 0.9
    got = nonsaturating.d_loss(R, F_, real_label=a).item()
    hand = mean([a * sp(-r) + (1 - a) * sp(r) for r in R.tolist()]) + mean([sp(f) for f in F_])
    assert got == pytest.approx(hand, rel=1e-6)
    plain = mean([sp(-r) for r in R.tolist()]) + mean([sp(f) for f in F_])
    assert nonsaturating.d_loss(R, F_).item() == pytest.approx(plain, rel=1e-6)
    # the smoothed formula itself tends to the plain loss as the label tends to 1
    assert nonsaturating.d_loss(R, F_, real_label=1 - 1e-6).item() == pytest.approx(plain,
                                                                                   rel=1e-5)
    assert got != pytest.approx(plain, rel=1e-3)


@pytest.mark.parametrize("alpha", [0.7, 0.9])
@pytest.mark.parametrize("p_r,p_g", [(0.5, 0.5), (0.8, 0.2), (0.1, 0.9)])
def test_smoothed_optimal_discriminator_is_alpha_times_the_plain_one(alpha, p_r, p_g):
    """At one point x, D minimises p_r * (real term) + p_g * (fake term); with the real target
    alpha the minimiser is D* = alpha p_r / (p_r + p_g), never above alpha."""
    from scipy.optimize import minimize_scalar

    def expected_loss(logit):
        t = torch.tensor([logit], dtype=torch.float64)
        zero = torch.zeros(1, dtype=torch.float64)
        real_term = nonsaturating.d_loss(t, zero, real_label=alpha) - math.log(2)
        fake_term = nonsaturating.d_loss(zero, t) - math.log(2)
        return (p_r * real_term + p_g * fake_term).item()

    best = minimize_scalar(expected_loss, bounds=(-20, 20), method="bounded",
                           options={"xatol": 1e-10})
    d_star = 1 / (1 + math.exp(-best.x))
    assert d_star == pytest.approx(alpha * p_r / (p_r + p_g), abs=1e-6)
    assert d_star <= alpha


def test_label_smoothing_through_the_registry():
    obj = losses.get("nonsaturating", real_label=0.9)
    assert obj.params == {"real_label": 0.9}
    assert obj.d_loss(R, F_).item() == pytest.approx(
        nonsaturating.d_loss(R, F_, real_label=0.9).item())
    assert losses.get("minimax", real_label=0.8).params == {"real_label": 0.8}
    assert losses.get("nonsaturating").params == {}
    for bad in (0.0, 1.5, -0.1, "0.9"):
        with pytest.raises(ValueError, match="real_label must be a number in"):
            losses.get("nonsaturating", real_label=bad)


def test_infogan_draws_after_an_evaluation_in_inference_mode():
    import torch

    from ganlib import losses

    o = losses.get("infogan")
    with torch.inference_mode():
        o.latent(4, 2 + 8 + 1, "cpu")
    z = o.latent(4, 2 + 8 + 1, "cpu")  # raised "Inplace update to inference tensor"
    assert z.shape == (4, 11) and not o._z.is_inference()


def test_two_threads_training_at_once_cannot_leave_the_checks_off():
    import threading

    import torch

    from ganlib.losses import nonsaturating, validation

    step = [threading.Event() for _ in range(4)]

    def first():  # enters, lets the second enter, leaves first
        with validation(False):
            step[0].set()
            step[1].wait()
        step[2].set()

    def second():  # enters while the first is inside, leaves last
        step[0].wait()
        with validation(False):
            step[1].set()
            step[2].wait()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pytest.raises(ValueError, match="NaN or Inf"):  # still checked in this thread
        nonsaturating.d_loss(torch.zeros(2), torch.tensor([0.0, float("inf")]))


def test_every_objective_pickles_for_worker_processes():
    import pickle

    for name in losses.names():
        objective = losses.get(name)
        assert pickle.loads(pickle.dumps(objective)).name == name
