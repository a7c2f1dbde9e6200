"""Explorers and probes for the cross-cutting chapters (gradients, activations, failure modes).

* :func:`cost_curves` evaluates, by autograd on each registered loss's own
  ``Objective.g_loss``, the generator's per-sample cost and its derivative with respect to
  the discriminator's raw score; :func:`cost_explorer` overlays them interactively
  (ipywidgets), and :func:`ganlib.plots.loss_costs` draws the static figure.
* :func:`layer_grad_norms` measures, for one generator step and one discriminator step, the
  gradient norm reaching each Linear layer of G and of D (vanishing gradients at
  initialisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import grad, vmap

from ganlib import losses
from ganlib.losses import minimax, validation
from ganlib.objective import Objective


@dataclass
class CostCurve:
    """A generator cost as a function of the discriminator's raw score ``s`` on a sample."""

    name: str
    score: np.ndarray  # s, the raw score (logit or critic value)
    cost: np.ndarray  # c(s), the per-sample generator cost
    slope: np.ndarray  # dc/ds, by autograd
    sigmoid: bool  # D is a classifier, D(G(z)) = sigmoid(s)


def score_only(objective: Objective) -> str | None:
    """Why the generator loss of ``objective`` is *not* a function of the fake score alone
    (None when it is): relativistic losses also read real scores, and objectives with
    their own generator step add terms (classes, codes, energies of an autoencoder)."""
    if objective.g_needs_real:
        return "its generator loss also reads the scores of real data"
    if type(objective).generator_step is not Objective.generator_step:
        return f"{type(objective).__name__} has its own generator step"
    return None


def cost_curve(objective: Objective, lo: float = -8.0, hi: float = 8.0,
               n: int = 401) -> CostCurve:
    """Per-sample cost ``g_loss([s])`` and ``dc/ds`` for ``n`` scores in ``[lo, hi]``.

    Each score is one batch of size one, so the cost is exactly the per-sample cost whatever
    the loss's reduction; the derivative is autograd's (``torch.func.grad``) through the
    library's function, not a formula.
    """
    if (why := score_only(objective)) is not None:
        raise ValueError(f"{objective.name}: {why}")
    s = torch.linspace(lo, hi, n, dtype=torch.float64)

    def cost(t):
        return objective.g_loss(t.reshape(1), None)

    with validation(False):  # a finiteness check cannot run inside vmap
        c, dc = vmap(cost)(s), vmap(grad(cost))(s)
    return CostCurve(objective.name, s.numpy(), c.detach().numpy(), dc.detach().numpy(),
                     objective.d_loss is minimax.d_loss)


def cost_curves(names: Sequence[str] | None = None, lo: float = -8.0, hi: float = 8.0,
                n: int = 401) -> tuple[dict[str, CostCurve], dict[str, str]]:
    """Cost curves of every registered loss whose generator cost depends on the fake score
    only, and for the others the reason they are left out."""
    curves, skipped = {}, {}
    for name in names or losses.names():
        obj = losses.get(name)
        if (why := score_only(obj)) is not None:
            skipped[name] = why
        else:
            curves[name] = cost_curve(obj, lo, hi, n)
    return curves, skipped


def same_curves(curves: dict[str, CostCurve]) -> list[list[str]]:
    """Group losses whose costs and slopes coincide (to the last bit) on the grid."""
    groups: list[list[str]] = []
    for name, c in curves.items():
        for g in groups:
            ref = curves[g[0]]
            if np.array_equal(ref.cost, c.cost) and np.array_equal(ref.slope, c.slope):
                g.append(name)
                break
        else:
            groups.append([name])
    return groups


def cost_explorer(curves: dict[str, CostCurve], selected: Sequence[str] | None = None):
    """An ipywidgets explorer: pick losses to overlay, and the horizontal axis (raw score, or
    D(G(z)) = sigmoid(score) for the classifier losses). Needs a running kernel; in a static
    page use :func:`ganlib.plots.loss_costs`."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from ganlib import plots

    names = list(curves)
    pick = widgets.SelectMultiple(options=names, value=tuple(selected or names[:2]),
                                  rows=min(len(names), 8), description="losses")
    axis = widgets.ToggleButtons(options=[("raw score s", "score"),
                                          ("D(G(z)) = sigmoid(s)", "probability")],
                                 value="score", description="x axis")

    def draw(chosen, x):
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
        plots.loss_costs({k: curves[k] for k in chosen}, ax, x=x)
        fig.tight_layout()
        plt.show()

    out = widgets.interactive_output(draw, {"chosen": pick, "x": axis})
    return widgets.VBox([widgets.HBox([pick, axis]), out])


def layer_grad_norms(G: nn.Module, D: nn.Module, objective: Objective, data,
                     batch: int = 256) -> dict[str, list[float]]:
    """Gradient norm reaching each Linear layer's weight, first layer first, for one
    generator step (G) and one discriminator step (D) of ``objective`` on a fresh batch.

    The steps are the objective's own (``generator_step`` / ``discriminator_step``); nothing
    is updated.
    """
    real, _ = data.sample(batch)
    z = objective.latent(batch, G.z_dim, real.device)
    out = {}
    for who, net in (("G", G), ("D", D)):
        G.zero_grad(set_to_none=True)
        D.zero_grad(set_to_none=True)
        fake = G(z)
        if who == "G":
            loss, _ = objective.generator_step(D, real, fake, None, z)
        else:
            loss, _ = objective.discriminator_step(D, real, fake.detach())
        loss.backward()
        out[who] = [m.weight.grad.norm().item() for m in net.modules()
                    if isinstance(m, nn.Linear)]
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    return out
