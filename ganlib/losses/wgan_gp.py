r"""WGAN with gradient penalty (Gulrajani et al. 2017).

The critic and generator losses are WGAN's (:mod:`ganlib.losses.wgan`); weight clipping is
replaced by a penalty on the critic's gradient at random interpolates between real and
generated samples (:func:`ganlib.penalties.gradient_penalty`):

.. math::
    L_D = \mathbb{E}_z[D(G(z))] - \mathbb{E}_x[D(x)]
        + \lambda\, \mathbb{E}_{\hat x}\big[(\lVert \nabla_{\hat x} D(\hat x) \rVert_2 - 1)^2\big]

The paper's defaults (Algorithm 1): :math:`\lambda = 10`, :math:`n_\text{critic} = 5`, Adam
with learning rate :math:`10^{-4}` and :math:`\beta = (0, 0.9)`, and no BatchNorm in the
critic (the penalty refuses one).
Paper: https://arxiv.org/abs/1704.00028
"""

from __future__ import annotations

from functools import partial

from ganlib import penalties
from ganlib.losses import wgan
from ganlib.losses._common import fake_only
from ganlib.objective import Objective, check_number

d_loss = wgan.d_loss
g_loss = wgan.g_loss


def objective(lam: float = 10.0, one_sided: bool = False, **opt) -> Objective:
    """WGAN-GP with the paper's defaults; ``one_sided`` penalises only norms above 1."""
    check_number("wgan-gp", "lam", lam)
    opt = {"n_critic": 5, "lr": 1e-4, "betas": (0.0, 0.9), **opt}
    return Objective("wgan-gp", d_loss, partial(fake_only, g_loss),
                     penalty=partial(penalties.gradient_penalty, weight=lam, one_sided=one_sided),
                     params={"lambda": lam, "one_sided": one_sided}, **opt)
