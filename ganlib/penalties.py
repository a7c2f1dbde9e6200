r"""Penalties on the discriminator's input gradient, each evaluated where its paper says.

Every penalty has the signature ``(D, real, fake, y=None, *, hyperparameters...)`` and returns
the *weighted* penalty, so ``functools.partial(penalties.r1, gamma=1.0)`` is directly an
:class:`~ganlib.objective.Objective` ``penalty`` and can be added to any loss.

Three details are deliberate (each is a bug in some public implementation):

* the gradient is taken of the raw score (logit or critic value), never of a sigmoid;
* its norm is taken per sample over *every* non-batch axis (``(n, 1, 28, 28)`` gradients are
  flattened to ``(n, 784)``; a norm over ``dim=1`` alone would be a norm over channels);
* the points where the gradient is taken are built from *detached* inputs, so a penalty
  trains the discriminator only and never sends gradient into the generator.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.convs import constant_slopes
from ganlib.losses._common import check_scores, reduce
from ganlib.models import has_batchnorm

# Added under the square root of a squared gradient norm: d sqrt(s)/ds is infinite at s = 0,
# which turns a zero gradient (a flat critic, a saturated unit) into NaN in the backward pass.
# 1e-10 moves the norm by at most 1e-5, far below anything the penalties compare it with.
NORM_EPS = 1e-10


def input_gradients(D: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """:math:`\\nabla_x D(x)` per sample, kept in the graph so the penalty can be trained.

    ``x`` is detached first: the gradient is with respect to the point, not to whatever
    produced it. ``D`` must return one score per sample (shape ``(n,)``) and score each
    sample on its own: a ``D`` with BatchNorm, whose score for one sample depends on the
    whole batch, is refused, since every penalty built on this gradient is per sample.
    """
    if isinstance(D, nn.Module) and has_batchnorm(D):
        raise ValueError("the gradient penalty is per sample, but this critic has BatchNorm, "
                         "which couples the samples of a batch: build it without, e.g. "
                         "models.pair('image', batchnorm=False) or "
                         "losses.make_models(name, kind), whose networks for a "
                         "penalised loss have none")
    x = x.detach().requires_grad_(True)
    with constant_slopes():  # ganlib's LeakyReLU layers then skip a backward chain of zeros
        out = D(x) if y is None else D(x, y)
    check_scores(out)
    if out.shape != (len(x),):
        raise ValueError(f"a gradient penalty needs one score per sample, shape ({len(x)},); "
                         f"D returned {tuple(out.shape)}: penalise the critic/source column only")
    # Samples do not interact (no BatchNorm), so the gradient of the sum is the per-sample one.
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_norm(grad: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norm of flattened gradients (n, d), smooth at zero (see ``NORM_EPS``)."""
    return torch.sqrt(grad.pow(2).sum(1) + NORM_EPS)


def interpolates(real: torch.Tensor, fake: torch.Tensor,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    r""":math:`\hat x = \epsilon x + (1 - \epsilon)\tilde x`, one :math:`\epsilon \sim U[0, 1)` per
    sample (not per pixel), so each :math:`\hat x` lies on the segment between a real and a
    generated sample."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape to interpolate, got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}")
    eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), dtype=real.dtype,
                     device=real.device, generator=generator)
    return eps * real.detach() + (1 - eps) * fake.detach()


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     y: torch.Tensor | None = None, *, weight: float = 10.0,
                     one_sided: bool = False, reduction: str = "mean") -> torch.Tensor:
    r"""WGAN-GP's penalty (Gulrajani et al. 2017, eq. 3) at random interpolates.

    .. math::
        \lambda\, \mathbb{E}_{\hat x}\big[(\lVert \nabla_{\hat x} D(\hat x) \rVert_2 - 1)^2\big],
        \qquad \hat x = \epsilon x + (1 - \epsilon) G(z),\ \epsilon \sim U[0, 1]

    ``one_sided=True`` penalises only norms above 1, :math:`\max(0, \lVert\nabla\rVert - 1)^2`,
    the alternative the paper's section 4 discusses (it prefers the two-sided form).
    The paper's default: :math:`\lambda = 10`.

    The penalty is per sample, so a critic with BatchNorm (whose output for one sample depends
    on the whole batch) is refused (by :func:`input_gradients`, as for every penalty here):
    the paper's section 4 drops it for this reason.
    Paper: https://arxiv.org/abs/1704.00028
    """
    excess = gradient_norm(input_gradients(D, interpolates(real, fake), y)) - 1.0
    if one_sided:
        excess = excess.clamp(min=0)
    return weight * reduce(excess.pow(2), reduction)


def perturb(real: torch.Tensor, perturbation: str = "gaussian", c: float = 10.0) -> torch.Tensor:
    r"""The points around real data where DRAGAN takes its penalty.

    * ``"gaussian"``, as in the paper (Kodali et al. 2017): :math:`\tilde x = x + \delta`,
      :math:`\delta \sim \mathcal N(0, cI)` (``c`` is a variance; the paper suggests
      :math:`c \approx 10` and its authors advise tuning it to the data's range).
    * ``"uniform"``, the authors' original code, copied by most implementations:
      :math:`\tilde x = x + \alpha\,u`, :math:`u = 0.5\,\mathrm{std}(x)\,U[0, 1)^d` per element
      (one-sided, scaled by the standard deviation of the whole batch), :math:`\alpha \sim
      U[0, 1)` per sample. The authors later called this code old and set ``c`` by hand instead
      (kodalinaveen3/DRAGAN issue 6); ``c`` is ignored here.
    """
    x = real.detach()
    if perturbation == "gaussian":
        return x + c ** 0.5 * torch.randn_like(x)
    if perturbation == "uniform":
        u = 0.5 * x.std(correction=0) * torch.rand_like(x)
        alpha = torch.rand((len(x),) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        return x + alpha * u
    raise ValueError(f"unknown DRAGAN perturbation {perturbation!r}: use 'gaussian' (the "
                     "paper) or 'uniform' (the original code)")


def dragan(D: nn.Module, real: torch.Tensor, fake: torch.Tensor | None = None,
           y: torch.Tensor | None = None, *, weight: float = 10.0, k: float = 1.0,
           perturbation: str = "gaussian", c: float = 10.0,
           reduction: str = "mean") -> torch.Tensor:
    r"""DRAGAN's penalty (Kodali et al. 2017), around the *real* data only.

    .. math::
        \lambda\, \mathbb{E}_{x \sim p_r,\ \delta}\big[(\lVert \nabla D(x + \delta) \rVert_2
            - k)^2\big]

    with :math:`\lambda = 10` and :math:`k = 1`; see :func:`perturb` for the two ways of
    drawing :math:`\delta`. ``fake`` is not used. Paper: https://arxiv.org/abs/1705.07215
    """
    norms = gradient_norm(input_gradients(D, perturb(real, perturbation, c), y))
    return weight * reduce((norms - k).pow(2), reduction)


def r1(D: nn.Module, real: torch.Tensor, fake: torch.Tensor | None = None,
       y: torch.Tensor | None = None, *, gamma: float = 10.0,
       reduction: str = "mean") -> torch.Tensor:
    r"""R1 (Mescheder et al. 2018, section 4.1): a zero-centred penalty on real data.

    .. math::
        R_1(\psi) = \frac{\gamma}{2}\, \mathbb{E}_{x \sim p_r}\big[\lVert \nabla D_\psi(x)
            \rVert^2\big]

    The squared norm is smooth at zero, so no epsilon is needed.
    Paper: https://arxiv.org/abs/1801.04406
    """
    grad = input_gradients(D, real, y)
    return 0.5 * gamma * reduce(grad.pow(2).sum(1), reduction)


def r2(D: nn.Module, real: torch.Tensor | None, fake: torch.Tensor,
       y: torch.Tensor | None = None, *, gamma: float = 10.0,
       reduction: str = "mean") -> torch.Tensor:
    r"""R2 (Mescheder et al. 2018, section 4.1): the same penalty on generated data.

    .. math::
        R_2(\theta, \psi) = \frac{\gamma}{2}\, \mathbb{E}_{x \sim p_\theta}\big[\lVert
            \nabla D_\psi(x) \rVert^2\big]

    Paper: https://arxiv.org/abs/1801.04406
    """
    grad = input_gradients(D, fake, y)
    return 0.5 * gamma * reduce(grad.pow(2).sum(1), reduction)
