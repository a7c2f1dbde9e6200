r"""InfoGAN (Chen et al. 2016): latent codes whose mutual information with the samples is
maximised through a variational lower bound.

The generator's input is :math:`(z, c)`, noise plus a code: a uniform categorical
:math:`c_\text{cat} \in \{0..K-1\}` (one-hot) and continuous
:math:`c_\text{cont} \sim U[-1, 1]^m`. A head :math:`Q` on the discriminator's features
(sharing its body) estimates :math:`Q(c \mid x)`, and

.. math::
    L_I(G, Q) = \mathbb{E}_{c \sim P(c),\, x \sim G(z, c)}[\log Q(c \mid x)] + H(c)
        \le I(c; G(z, c))

is added, weighted by :math:`\lambda`, to both players:
:math:`\min_{G, Q} \max_D V(D, G) - \lambda L_I(G, Q)`. For the categorical code
:math:`H(c) = \log K` and :math:`\mathbb{E}\log Q = -\mathrm{CE}`, so
:math:`L_I = \log K - \mathrm{CE} \le \log K`, with equality for a perfect :math:`Q`. For the
continuous code :math:`Q` is a unit-variance Gaussian with learnt mean and
:math:`H(U[-1, 1]) = \log 2` per dimension. Weights: :math:`\lambda = 1` for the categorical
code (the paper), 0.1 for the continuous one (common practice). :math:`V` is the
non-saturating GAN's.

Networks: ``losses.make_models("infogan", kind)`` (G's ``z_dim`` includes the codes) and the
objective built for the same ``kind``: ``losses.get("infogan", kind=kind, device=device)``.
Draw samples with ``train.generate(G, n, z=objective.latent(n, G.z_dim, device))``.
Paper: https://arxiv.org/abs/1606.03657
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ganlib.losses import nonsaturating
from ganlib.losses._common import check_class_logits, check_scores, reduce
from ganlib.losses._nets import q_head
from ganlib.objective import Objective, check_number

NOISE_DIM = {"2d": 2, "image": 62, "image-small": 62}
# (categories K, continuous dimensions m)
CODES = {"2d": (8, 1), "image": (10, 2), "image-small": (10, 2)}
FEATURES = {"2d": 128, "image": 1024, "image-small": 64 * 7 * 7}  # width of D.features


def categorical_bound(logits: torch.Tensor, codes: torch.Tensor,
                      reduction: str = "mean") -> torch.Tensor:
    r""":math:`L_I = \log K - \mathrm{CE}(Q(x), c)` for a uniform categorical code.

    Args:
        logits: Q's class logits (n, K), before any softmax (the cross-entropy applies it).
        codes: the categorical codes (n,) given to the generator, in 0..K-1.
    """
    check_class_logits(logits, codes)
    ce = F.cross_entropy(logits, codes, reduction="none")
    return reduce(math.log(logits.shape[1]) - ce, reduction)


def continuous_bound(mean: torch.Tensor, codes: torch.Tensor,
                     reduction: str = "mean") -> torch.Tensor:
    r""":math:`L_I = \sum_j \log 2 + \log \mathcal N(c_j; \mu_j, 1)` for codes
    :math:`c \sim U[-1, 1]^m` (summed over the m dimensions)."""
    check_scores(mean, codes)
    log_q = -0.5 * math.log(2 * math.pi) - 0.5 * (codes - mean).pow(2)
    return reduce((math.log(2.0) + log_q).sum(1), reduction)


def sample_codes(n: int, n_categories: int, n_continuous: int, device=None):
    """Codes from the prior: categorical indices (n,) and uniform values in [-1, 1) (n, m)."""
    cat = torch.randint(n_categories, (n,), device=device)
    cont = torch.rand(n, n_continuous, device=device) * 2 - 1
    return cat, cont


@dataclass
class InfoGANObjective(Objective):
    """InfoGAN's latent codes, its Q head (an extra module) and its two steps."""

    noise_dim: int = 2
    n_categories: int = 8
    n_continuous: int = 1
    lambda_cat: float = 1.0
    lambda_cont: float = 0.1
    features: int = 128
    q: nn.Module | None = None
    _z: torch.Tensor | None = field(default=None, repr=False)  # the last latent batch drawn

    def __post_init__(self):
        super().__post_init__()
        if self.q is None:
            self.q = q_head(self.features, self.n_categories + self.n_continuous)

    def latent(self, n: int, z_dim: int, device) -> torch.Tensor:
        """:math:`(z, c)`: Gaussian noise, one-hot categorical code, uniform continuous code.
        The batch is kept for the discriminator step, which sees only the samples."""
        expected = self.noise_dim + self.n_categories + self.n_continuous
        if z_dim != expected:
            raise ValueError(f"G.z_dim is {z_dim} but this InfoGAN latent has {self.noise_dim} "
                             f"noise + {self.n_categories} + {self.n_continuous} code dims = "
                             f"{expected}: build G with losses.make_models('infogan', kind) and "
                             "the objective with the same kind")
        cat, cont = sample_codes(n, self.n_categories, self.n_continuous, device)
        noise = torch.randn(n, self.noise_dim, device=device)
        one_hot = torch.zeros(n, self.n_categories, device=device).scatter_(1, cat[:, None], 1.0)
        z = torch.cat([noise, one_hot, cont], 1)
        if (self._z is None or self._z.shape != z.shape or self._z.device != z.device
                or self._z.is_inference() != torch.is_inference_mode_enabled()):
            # a new buffer where the old one cannot take this batch in place (an inference
            # tensor, from an evaluation, is read-only outside inference mode)
            self._z = z.clone()
        else:  # in place, so that a step replayed as a CUDA graph sees this batch
            self._z.copy_(z)
        return z

    def codes(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The codes inside a latent batch from :meth:`latent`."""
        start = self.noise_dim
        cat = z[:, start:start + self.n_categories].argmax(1)
        return cat, z[:, start + self.n_categories:]

    def information(self, features: torch.Tensor, codes) -> torch.Tensor:
        r""":math:`\lambda_\text{cat} L_I^\text{cat} + \lambda_\text{cont} L_I^\text{cont}`
        from D's features of generated samples and the codes they were made from."""
        if next(self.q.parameters()).device != features.device:
            raise ValueError(f"InfoGAN's Q head is on {next(self.q.parameters()).device} but D "
                             f"on {features.device}: build the objective with "
                             "losses.get('infogan', kind=..., device=device)")
        q = self.q(features)
        cat, cont = codes
        info = self.lambda_cat * categorical_bound(q[:, :self.n_categories], cat)
        if self.n_continuous:
            info = info + self.lambda_cont * continuous_bound(q[:, self.n_categories:], cont)
        return info

    def _body_and_score(self, D: nn.Module, x: torch.Tensor):
        if not (hasattr(D, "features") and hasattr(D, "head")) or getattr(D, "n_classes", 0):
            raise ValueError("InfoGAN's Q shares the discriminator's body: D must be an "
                             "unconditional network with .features and .head "
                             "(losses.make_models('infogan', kind))")
        h = D.features(x)
        return h, D.head(h).squeeze(1)

    def discriminator_step(self, D: nn.Module, real, fake, y=None):
        if self._z is None or len(self._z) != len(fake):
            raise ValueError("InfoGAN's discriminator step needs the codes of the generated "
                             "batch: draw its latent with objective.latent(...) first")
        _, s_real = self._body_and_score(D, real)
        h_fake, s_fake = self._body_and_score(D, fake)
        info = self.information(h_fake, self.codes(self._z))
        loss = nonsaturating.d_loss(s_real, s_fake) - info
        return loss, {"d_real": s_real.detach().mean(), "d_fake": s_fake.detach().mean()}

    def generator_step(self, D: nn.Module, real, fake, y=None, z=None):
        if z is None:
            raise ValueError("InfoGAN's generator step needs the latent z (it holds the codes)")
        h, s = self._body_and_score(D, fake)
        info = self.information(h, self.codes(z))
        return nonsaturating.g_loss(s) - info, {"info": info.detach()}

    def extra_modules(self) -> dict[str, nn.Module]:
        return {"q": self.q}


def objective(kind: str = "2d", n_categories: int | None = None,
              n_continuous: int | None = None, lambda_cat: float = 1.0,
              lambda_cont: float = 0.1, device=None, **opt) -> InfoGANObjective:
    """InfoGAN for the ``kind`` of networks ("2d": 8 categories + 1 continuous code on 2 noise
    dims; "image": 10 + 2 on 62, the paper's MNIST setting, also for "image-small"), Q head
    placed on ``device``."""
    if kind not in NOISE_DIM:
        raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(NOISE_DIM)}")
    k_default, m_default = CODES[kind]
    k = k_default if n_categories is None else n_categories
    m = m_default if n_continuous is None else n_continuous
    if k < 2 or m < 0:
        raise ValueError(f"InfoGAN needs >= 2 categories and >= 0 continuous codes, got {k}, {m}")
    check_number("infogan", "lambda_cat", lambda_cat)
    check_number("infogan", "lambda_cont", lambda_cont)
    obj = InfoGANObjective("infogan", nonsaturating.d_loss, nonsaturating.g_loss,
                           noise_dim=NOISE_DIM[kind], n_categories=k, n_continuous=m,
                           lambda_cat=lambda_cat, lambda_cont=lambda_cont,
                           features=FEATURES[kind],
                           params={"kind": kind, "n_categories": k, "n_continuous": m,
                                   "lambda_cat": lambda_cat, "lambda_cont": lambda_cont}, **opt)
    if device is not None:
        obj.q.to(device)
    return obj
