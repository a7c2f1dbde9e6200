"""Config, registry, the two first losses, theory and the Dirac-GAN."""

import math
import os

import numpy as np
import pytest
import torch

import ganlib
from ganlib import config, dirac, losses, theory
from ganlib.losses import minimax, nonsaturating


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("GANLIB_PROFILE", raising=False)
    with pytest.raises(ValueError, match="unknown profile 'fast'.*quick"):
        config.get_profile("fast")


def test_profile_env_var_wins(monkeypatch):
    monkeypatch.setenv("GANLIB_PROFILE", "quick")
    assert config.get_profile("full").name == "quick"
    monkeypatch.delenv("GANLIB_PROFILE")
    assert config.get_profile("full").name == "full"
    assert config.get_profile("auto").name == ("full" if torch.cuda.is_available() else "cpu")


def test_run_card_records_what_reproduces_a_run():
    card = config.run_card("quick", seed=3, device="cpu", note="x").finish()
    d = card.as_dict()
    assert d["seed"] == 3 and d["profile"] == "quick" and d["torch"] == torch.__version__
    assert d["ganlib"] == ganlib.__version__ and d["wall_time_s"] >= 0
    assert "| seed | 3 |" in card._repr_markdown_()
    if hasattr(os, "getloadavg"):  # the load the wall time was measured under
        assert d["load_at_end"].endswith(f" (1, 5, 15 min; {os.cpu_count()} cores)")
    # on a CPU the device names the vector instructions PyTorch runs with (AVX2, AVX512...)
    capability = torch.backends.cpu.get_cpu_capability()
    assert d["device"].startswith("cpu (") and f", {capability}, " in d["device"]


def test_run_card_records_the_machines_load_at_the_end(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (3.96, 2.5, 0.04), raising=False)
    card = config.run_card("cpu", seed=0, device="cpu")
    assert card.load_at_end is None  # measured when the chapter finishes, not before
    card.finish()
    assert card.load_at_end.startswith("4.0, 2.5, 0.0 (1, 5, 15 min; ")
    assert "| load_at_end | 4.0, 2.5, 0.0" in card._repr_markdown_()


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown loss 'vanilla'.*minimax.*nonsaturating"):
        losses.get("vanilla")


def test_minimax_and_nonsaturating_match_hand_values():
    r = torch.tensor([0.0, 2.0])
    f = torch.tensor([-1.0, 3.0])
    sp = lambda x: math.log1p(math.exp(x))  # softplus
    d_expected = (sp(-0.0) + sp(-2.0)) / 2 + (sp(-1.0) + sp(3.0)) / 2
    assert minimax.d_loss(r, f).item() == pytest.approx(d_expected, rel=1e-6)
    assert nonsaturating.d_loss(r, f).item() == pytest.approx(d_expected, rel=1e-6)
    # minimax G: E log(1 - D(G(z))); non-saturating G: -E log D(G(z))
    D = lambda t: 1 / (1 + math.exp(-t))
    assert minimax.g_loss(f).item() == pytest.approx(
        (math.log(1 - D(-1)) + math.log(1 - D(3))) / 2, rel=1e-6)
    assert nonsaturating.g_loss(f).item() == pytest.approx(
        -(math.log(D(-1)) + math.log(D(3))) / 2, rel=1e-6)
    assert minimax.d_loss(r, f, reduction="none").shape == (2,)
    assert minimax.d_loss(r, f, reduction="sum").item() == pytest.approx(2 * d_expected, rel=1e-6)


def test_losses_are_stable_for_extreme_logits():
    big = torch.tensor([200.0, -200.0])
    for v in (minimax.d_loss(big, -big), nonsaturating.g_loss(-big), minimax.g_loss(big)):
        assert torch.isfinite(v)
    # the saturation the chapter describes: at D(G(z)) -> 0 the minimax gradient vanishes
    f = torch.tensor([-20.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(minimax.g_loss(f), f)
    (g_ns,) = torch.autograd.grad(nonsaturating.g_loss(f), f)
    assert abs(g_mm.item()) < 1e-8 and g_ns.item() == pytest.approx(-1.0, abs=1e-8)


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        minimax.d_loss(torch.zeros(4), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="NaN or Inf"):
        minimax.d_loss(torch.zeros(2), torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="unknown reduction"):
        minimax.d_loss(torch.zeros(2), torch.zeros(2), reduction="avg")


@pytest.fixture
def two_gaussians():
    # p_g is wider than p_r so that D* stays strictly inside (0, 1) in float64 on the grid
    x = theory.grid(-10, 10, 40_001)
    return x, theory.gaussian_pdf(x, 0.0, 1.0), theory.gaussian_pdf(x, 1.5, 1.3)


def test_optimal_discriminator_maximises_v(two_gaussians):
    x, p_r, p_g = two_gaussians
    d_star = theory.optimal_discriminator(p_r, p_g)
    v_star = theory.value_function(d_star, p_r, p_g, x)
    for eps in (0.05, -0.05):  # any perturbation of D* lowers V
        d = (d_star + eps * torch.sin(x)).clamp(1e-6, 1 - 1e-6)
        assert theory.value_function(d, p_r, p_g, x) < v_star


def test_value_at_optimum_is_minus_log4_plus_2jsd(two_gaussians):
    x, p_r, p_g = two_gaussians
    v_star = theory.value_function(theory.optimal_discriminator(p_r, p_g), p_r, p_g, x)
    jsd = theory.jsd(p_r, p_g, x)
    assert 0 < jsd < math.log(2)
    assert v_star == pytest.approx(-math.log(4) + 2 * jsd, abs=1e-9)
    # and the library's discriminator loss at the logits of D* is exactly -V(D*, G): its real
    # term is the non-saturating generator's per-sample loss, its fake term minus the minimax
    # generator's
    logit = torch.log(p_r) - torch.log(p_g)
    real_term = nonsaturating.g_loss(logit, reduction="none")  # -log D*
    fake_term = -minimax.g_loss(logit, reduction="none")  # -log(1 - D*)
    assert minimax.d_loss(logit, logit).item() == pytest.approx(
        (real_term.mean() + fake_term.mean()).item(), rel=1e-12)
    per_x = theory.integrate(p_r * real_term + p_g * fake_term, x)
    assert per_x == pytest.approx(-v_star, abs=1e-9)


def test_jsd_of_identical_densities_is_zero(two_gaussians):
    x, p_r, _ = two_gaussians
    assert theory.jsd(p_r, p_r, x) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_dirac_field_values_at_known_points(name):
    obj = losses.get(name)
    # D(x) = psi x, real point 0, fake point theta.  Discriminator descends
    # L_D = softplus(0) + softplus(psi theta): dpsi = -theta sigmoid(psi theta).
    for theta, psi in [(1.0, 0.0), (0.5, -1.0), (-1.0, 2.0)]:
        u, v = dirac.vector_field(obj, torch.tensor(theta), torch.tensor(psi))
        s = 1 / (1 + math.exp(-psi * theta))
        assert v.item() == pytest.approx(-theta * s, rel=1e-9)
        expected_u = psi * s if name == "minimax" else psi * (1 - s)
        assert u.item() == pytest.approx(expected_u, rel=1e-9)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_dirac_gan_is_not_locally_convergent(name):
    # Mescheder et al. 2018, section 2.2 / Lemma 2.2: eigenvalues +-f'(0) i, f'(0) = 1/2 here
    eig = dirac.eigenvalues(losses.get(name))
    assert np.allclose(eig.real, 0.0, atol=1e-12)
    assert np.allclose(sorted(eig.imag), [-0.5, 0.5])
    # near the equilibrium simultaneous gradient descent spirals outwards (its step map has
    # eigenvalues 1 +- 0.05i, of modulus > 1; the non-saturating loss then settles on a cycle)
    path = dirac.simulate(losses.get(name), 0.1, 0.0, lr=0.1, steps=1000)
    r = np.hypot(path[:, 0], path[:, 1])
    assert r[-1] > 2 * r[0]


def test_show_returns_the_library_source(capsys):
    code = ganlib.show(minimax.d_loss)  # outside IPython it prints the source
    text = code.data if code is not None else capsys.readouterr().out
    assert "def d_loss" in text and "softplus" in text
    with pytest.raises(TypeError, match="cannot show"):
        ganlib.show(3)


def test_tables_render_as_tables_even_with_pipes_in_cells():
    from markdown_it import MarkdownIt

    from ganlib import plots

    md = plots.table({"ns": {"max |a - b|": 0.5, "KL(P || Q)": 1.25}}).data
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert html.count("<th>") == 3 and html.count("<td>") == 3, html
    assert "<td>0.5</td>" in html and "|a - b|" in html


def test_tables_are_markdown_text_without_ipython(monkeypatch):
    import sys

    from ganlib import plots

    monkeypatch.setitem(sys.modules, "IPython.display", None)  # as if IPython were missing
    table = plots.table({"ns": {"modes": 8}})
    assert isinstance(table, plots.MarkdownText)
    assert str(table) == table._repr_markdown_() == table.data
    assert table.data.splitlines()[-1] == "| ns | 8 |"


def test_pot_is_kept_off_the_array_libraries_that_preallocate_gpu_memory():
    """ganlib switches off POT's JAX, TensorFlow and CuPy backends (each grabs most of a GPU
    once created), unless the environment already set them."""
    import subprocess
    import sys

    code = ("import os, ganlib; print(','.join(os.environ.get('POT_BACKEND_DISABLE_' + b, '-') "
            "for b in ('JAX', 'TENSORFLOW', 'CUPY', 'PYTORCH')))")

    def after_import(env):
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True).stdout.strip()

    env = {k: v for k, v in os.environ.items() if not k.startswith("POT_BACKEND_")}
    assert after_import(env) == "1,1,1,-"  # torch's stays: the metrics hand POT torch tensors
    assert after_import(env | {"POT_BACKEND_DISABLE_JAX": ""}) == ",1,1,-"


def test_profiles_objectives_and_run_cards_display_as_short_tables():
    from markdown_it import MarkdownIt

    from ganlib import config, losses

    for obj in (config.get_profile("cpu"), losses.get("wgan-gp"), losses.get("wgan"),
                config.run_card("cpu", 0, chapter="test").finish()):
        md = obj._repr_markdown_()
        html = MarkdownIt("commonmark").enable("table").render(md)
        assert html.startswith("<table>") and max(map(len, md.splitlines())) < 88, md
    assert "| n_critic | 5 |" in losses.get("wgan-gp")._repr_markdown_()
    assert "| clip | 0.01 |" in losses.get("wgan")._repr_markdown_()
    # a parameter of value 0 is shown (LSGAN's a = 0); unset ones (None, False) are not
    lsgan = losses.get("lsgan")._repr_markdown_()
    assert "| a | 0.0 |" in lsgan and "| clip |" not in lsgan
    assert "| steps_2d | 8,000 |" in config.get_profile("cpu")._repr_markdown_()
    assert "| image_equal_d_updates | True |" in config.get_profile("cpu")._repr_markdown_()
