"""``Objective``: a loss's two formulas plus everything else it needs to be trained.

The training loop asks an objective for the discriminator's loss on a batch and for
the generator's loss; penalties, weight clipping, n_critic, optimiser defaults and
any state (BEGAN's k_t, InfoGAN's code head) live here, never in ``ganlib.train``.
Losses with extra machinery subclass ``Objective`` and override the two ``*_step``
methods; everything else is one instance of this class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ganlib.models import per_sample

Scores = torch.Tensor
OPTIMIZERS = ("adam", "rmsprop")


def check_number(loss: str, name: str, value, *, positive: bool = False) -> None:
    """Refuse a hyperparameter of ``loss`` that is not a finite number >= 0 (> 0 with
    ``positive``), naming the parameter and the range it needs."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and (value > 0 if positive else value >= 0)):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{loss}: {name} must be a number {bound}, got {value!r}")


@dataclass
class Objective:
    """A GAN loss ready for training.

    Attributes:
        name: registry name.
        d_loss: ``(real_scores, fake_scores) -> loss`` for the discriminator / critic.
        g_loss: ``(fake_scores, real_scores) -> loss`` for the generator (most ignore
            ``real_scores``; set ``g_needs_real`` for those that use it).
        penalty: ``(D, real, fake, y) -> weighted penalty`` added to the discriminator loss.
        n_critic: discriminator steps per generator step.
        optimizer: "adam" or "rmsprop", with ``lr`` and ``betas`` as the paper's defaults.
        clip: weight clipping bound for the critic after each step (WGAN), or None.
        conditional: the loss needs class labels (conditional GAN): train it with
            ``train.fit(..., conditional=objective.conditional)``.
        instance_noise: standard deviation of Gaussian noise added to every input of D, real
            and generated, in both steps (Sonderby et al. 2016; Mescheder et al. 2018, section
            3, on instance noise); 0 turns it off. Penalties see the inputs without it.
        lr_d_x: the discriminator's learning rate as a multiple of ``lr`` (two time-scales;
            1, the papers' equal rates). ``train.fit(lr_d=...)`` overrides it.
        ema: decay of the moving average of G's weights that ``ganlib.experiments`` trains
            beside G and scores instead of it (0: none; ``train.fit(..., ema=...)``).
        params: the loss's own hyperparameters, for the record (run cards, chapters).
    """

    name: str
    d_loss: Callable[[Scores, Scores], torch.Tensor]
    g_loss: Callable[[Scores, Scores | None], torch.Tensor]
    penalty: Callable | None = None
    n_critic: int = 1
    optimizer: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    clip: float | None = None
    g_needs_real: bool = False
    conditional: bool = False
    instance_noise: float = 0.0
    ema: float = 0.0
    lr_d_x: float = 1.0
    params: dict = field(default_factory=dict)

    def _repr_markdown_(self) -> str:
        from ganlib.config import kv_table

        shown = {"optimizer": self.optimizer, "lr": self.lr,
                 "betas": self.betas if self.optimizer == "adam" else "—",
                 "n_critic": self.n_critic, "clip": self.clip,
                 "penalty": getattr(getattr(self.penalty, "func", self.penalty), "__name__",
                                    None),
                 "instance_noise": self.instance_noise or None, "ema": self.ema or None,
                 "lr_d_x": None if self.lr_d_x == 1 else self.lr_d_x,
                 "conditional": self.conditional}
        shown |= self.params
        return kv_table(f"objective `{self.name}`",
                        {k: v for k, v in shown.items()
                         if v is not None and v is not False})  # 0.0 is a value

    def __post_init__(self) -> None:
        """Refuse settings that would train nothing or something else than asked."""
        n = self.n_critic
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{self.name}: n_critic must be an integer >= 1 (discriminator "
                             f"steps per generator step), got {n!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"{self.name}: unknown optimizer {self.optimizer!r}: use one of "
                             f"{OPTIMIZERS}")
        check_number(self.name, "lr", self.lr)
        if len(self.betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1
                                           for b in self.betas):
            raise ValueError(f"{self.name}: betas must be two numbers in [0, 1), got "
                             f"{self.betas!r}")
        if self.clip is not None:  # a bound <= 0 would set every critic weight to one value
            check_number(self.name, "clip", self.clip, positive=True)
        check_number(self.name, "instance_noise", self.instance_noise)
        check_number(self.name, "lr_d_x", self.lr_d_x, positive=True)

    # --- the two steps the training loop calls -------------------------------------------
    def discriminator_step(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                           y: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Loss for one discriminator update; ``fake`` is already detached from G."""
        self.require_labels(y)
        if per_sample(D):  # one pass over both batches: half the calls, twice the rows each
            x = torch.cat([self.noisy(real), self.noisy(fake)])
            out = D(x) if y is None else D(x, torch.cat([y, y]))
            real_out, fake_out = out[:len(real)], out[len(real):]
        else:
            real_out, fake_out = self.scores(D, real, y), self.scores(D, fake, y)
        loss = self.d_loss(real_out, fake_out)
        stats = {"d_real": real_out.detach().mean(), "d_fake": fake_out.detach().mean()}
        if self.penalty is not None:
            pen = self.penalty(D, real, fake, y)
            stats["penalty"] = pen.detach()
            loss = loss + pen
        return loss, stats

    def generator_step(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       y: torch.Tensor | None = None,
                       z: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Loss for one generator update; gradients flow through ``fake`` into G."""
        self.require_labels(y)
        fake_out = self.scores(D, fake, y)
        real_out = self.scores(D, real, y).detach() if self.g_needs_real else None
        return self.g_loss(fake_out, real_out), {}

    def scores(self, D: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """D's scores on ``x`` (with labels when conditional), after instance noise if any."""
        x = self.noisy(x)
        return D(x) if y is None else D(x, y)

    def noisy(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with instance noise added (``x`` itself when there is none)."""
        if self.instance_noise:
            x = x + self.instance_noise * torch.randn_like(x)
        return x

    def require_labels(self, y: torch.Tensor | None) -> None:
        if self.conditional and y is None:
            raise ValueError(f"loss {self.name!r} is conditional: train it with "
                             "train.fit(..., conditional=True) on networks built with n_classes "
                             f"(losses.make_models({self.name!r}, kind))")

    def latent(self, n: int, z_dim: int, device) -> torch.Tensor:
        """Generator input: z ~ N(0, I). Objectives with latent codes (InfoGAN) override it."""
        return torch.randn(n, z_dim, device=device)

    def after_generator_step(self, d_loss: torch.Tensor, g_loss: torch.Tensor,
                             stats: dict) -> None:
        """Update objective state after a full step (BEGAN's k_t); nothing by default."""

    def after_discriminator_step(self, D: nn.Module) -> None:
        """Weight clipping (WGAN) and any other projection after the optimiser step."""
        if self.clip is not None:
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-self.clip, self.clip)

    def extra_modules(self) -> dict[str, nn.Module]:
        """Trainable modules the objective owns (for example InfoGAN's Q head)."""
        return {}

    def state_dict(self) -> dict:
        """Training state to checkpoint (for example BEGAN's k_t)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"objective {self.name!r} has no state, got {sorted(state)}")

    def lr_d(self, lr: float | None = None) -> float:
        """The discriminator's learning rate when the generator's is ``lr`` (the objective's
        ``lr`` when None): ``lr_d_x`` times it."""
        return (self.lr if lr is None else lr) * self.lr_d_x

    def make_optimizer(self, params, lr: float | None = None,
                       betas: tuple[float, float] | None = None) -> torch.optim.Optimizer:
        """The objective's optimiser over ``params``. On a CPU, Adam runs fused (one kernel for
        every parameter, equal to the per-tensor loop up to float rounding) and RMSprop over
        all parameters at once (``foreach``, the same numbers); elsewhere torch chooses."""
        lr = self.lr if lr is None else lr
        params = list(params)
        cpu = all(p.device.type == "cpu" for p in params) or None
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=self.betas if betas is None else betas,
                                    fused=cpu)
        return torch.optim.RMSprop(params, lr=lr, foreach=cpu)
