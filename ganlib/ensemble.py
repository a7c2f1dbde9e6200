"""``fit_many``: many small 2-D runs trained at once, as one batched model.

The 2-D chapters repeat every loss over several seeds, and the comparison chapter trains
every loss on the same networks. Those runs are independent, so their weights can be
stacked and each forward pass run for all of them at once: as batched matrix products
(``ganlib.stacked``) for the 2-D MLPs, with ``torch.func``'s ``vmap`` over
``stack_module_state`` for other networks. Each run keeps its own loss, weights, optimiser
state and random stream (the global stream as ``fit`` would see it with that seed), so run
k ends where ``train.fit`` with seed ``seeds[k]`` ends, up to float rounding.

Only the networks are batched: the loss, the penalty and weight clipping are applied run
by run, exactly as ``Objective.discriminator_step`` and ``generator_step`` do. Adam and
RMSprop update every number on its own, so one optimiser over the stacked weights is K
optimisers; runs whose optimiser settings or ``n_critic`` differ are trained as separate
batches, one after another.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ganlib import models, stacked
from ganlib.losses import validation
from ganlib.objective import Objective
from ganlib.train import History

_PLAIN = ("discriminator_step", "generator_step", "scores", "after_discriminator_step",
          "after_generator_step", "extra_modules", "state_dict")


def supports(objective: Objective) -> str | None:
    """Why ``objective`` cannot be trained batched, or None when it can."""
    for name in _PLAIN:
        if getattr(type(objective), name, None) is not getattr(Objective, name, None):
            return (f"{objective.name}: overrides Objective.{name} (state or steps of its own); "
                    "train it with ganlib.train.fit")
    if getattr(objective, "conditional", False):
        return f"{objective.name}: conditional losses need labelled networks; use train.fit"
    return None


def fit_many(objectives: Objective | Sequence[Objective], seeds: Sequence[int], data, *,
             steps: int, batch_size: int = 256,
             nets: Sequence[tuple[nn.Module, nn.Module]] | None = None,
             lr: float | None = None, betas: tuple[float, float] | None = None,
             log_every: int = 50, sample_every: int | None = None, n_fixed: int = 64,
             progress: bool | None = None) -> list[History]:
    """Train ``len(seeds)`` runs of the 2-D pair at once; run k uses ``objectives[k]`` (or the
    one objective given) and ``seeds[k]``, and matches ``train.fit(..., seed=seeds[k])``.

    Args:
        data: a :class:`ganlib.data.Mixture` (any ``sample(n)`` on the training device).
        nets: the starting ``(G, D)`` of each run, trained in place like ``fit`` does; by
            default each run builds ``models.pair("2d")`` after ``torch.manual_seed(seed)``.
        lr, betas, log_every, sample_every, n_fixed, progress: as in ``train.fit``.

    A run whose statistics or weights become non-finite stops being recorded (its
    ``History.diverged`` says where); the others go on. Returns one History per run.
    """
    if isinstance(objectives, Objective):
        objectives = [objectives] * len(seeds)
    if len(objectives) != len(seeds) or not seeds:
        raise ValueError(f"need one objective per seed, got {len(objectives)} and {len(seeds)}")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    for o in objectives:
        if (why := supports(o)) is not None:
            raise ValueError(why)
    if nets is None:
        nets = []
        for s in seeds:
            torch.manual_seed(s)
            nets.append(models.pair("2d"))
    archs = {tuple((n, tuple(p.shape)) for net in pair for n, p in net.named_parameters())
             for pair in nets}
    if len(archs) > 1 or len(nets) != len(seeds):
        raise ValueError("fit_many needs one (G, D) per seed, all with the same parameter names "
                         "and shapes (the shared 2-D pair)")
    histories = [History(loss=o.name, path="vmap") for o in objectives]
    groups: dict[tuple, list[int]] = {}
    for k, o in enumerate(objectives):
        key = (o.optimizer, o.lr if lr is None else lr, o.betas if betas is None else betas,
               o.n_critic, o.lr_d_x)
        groups.setdefault(key, []).append(k)
    if progress is None:
        progress = os.environ.get("GANLIB_PROGRESS", "1") != "0"
    for idx in groups.values():
        _Batch([objectives[k] for k in idx], [seeds[k] for k in idx], [nets[k] for k in idx],
               data, lr, betas).train([histories[k] for k in idx], steps, batch_size, log_every,
                                      sample_every, n_fixed, progress)
    return histories


class _RunView(nn.Module):
    """Run k of a stacked network, callable like the network (what a penalty receives)."""

    def __init__(self, base: nn.Module, params: dict[str, torch.Tensor], k: int):
        super().__init__()
        self.base, self.params, self.k = base, params, k

    def forward(self, *args):
        return functional_call(self.base, {n: p[self.k] for n, p in self.params.items()}, args)


class _Batch:
    """K runs that share architecture, optimiser settings and ``n_critic``."""

    def __init__(self, objectives, seeds, nets, data, lr, betas):
        self.objs, self.nets, self.data = objectives, nets, data
        self.device = data.device
        self.gen = (torch.default_generator if self.device.type == "cpu"
                    else torch.cuda.default_generators[torch.cuda.current_device()
                                                       if self.device.index is None
                                                       else self.device.index])
        for G, D in nets:
            if any(True for _ in G.buffers()) or any(True for _ in D.buffers()):
                raise ValueError("fit_many batches networks without buffers (no BatchNorm)")
        self.g, _ = stack_module_state([G for G, _ in nets])
        self.d, _ = stack_module_state([D for _, D in nets])
        for p in (*self.g.values(), *self.d.values()):
            p.data = p.data.to(self.device)
        self.g_base = copy.deepcopy(nets[0][0]).to("meta")
        self.d_base = copy.deepcopy(nets[0][1]).to("meta")
        self.z_dim = nets[0][0].z_dim
        self.g_layers = stacked.mlp_layers(nets[0][0], self.g)
        self.d_layers = stacked.mlp_layers(nets[0][1], self.d)
        self.one_pass = models.per_sample(nets[0][1])
        self.streams = []
        for s in seeds:  # fit seeds the global stream; here each run keeps its own copy of it
            torch.manual_seed(s)
            self.streams.append(self.gen.get_state())
        o = objectives[0]
        self.opt_d = o.make_optimizer(self.d.values(), o.lr_d(lr), betas)
        self.opt_g = o.make_optimizer(self.g.values(), lr, betas)

    def G(self, params, z):
        if self.g_layers is not None:
            return stacked.forward(self.g_layers, params, z)
        return vmap(lambda p, z: functional_call(self.g_base, p, (z,)))(params, z)

    def D(self, params, x):
        if self.d_layers is not None:
            out = stacked.forward(self.d_layers, params, x)
            return out.squeeze(-1) if out.shape[-1] == 1 else out
        return vmap(lambda p, x: functional_call(self.d_base, p, (x,)))(params, x)

    @contextlib.contextmanager
    def stream(self, k: int):
        """Make run k's random stream the global one for the duration of the block."""
        self.gen.set_state(self.streams[k])
        try:
            yield
        finally:
            self.streams[k] = self.gen.get_state()

    def latents(self, n: int) -> torch.Tensor:
        z = []
        for k, o in enumerate(self.objs):
            with self.stream(k):
                z.append(o.latent(n, self.z_dim, self.device))
        return torch.stack(z)

    def noisy(self, x: torch.Tensor, runs) -> torch.Tensor:
        """``x`` with each run's instance noise (``Objective.scores``) for the runs listed."""
        if not any(self.objs[k].instance_noise for k in runs):
            return x
        out = list(x)
        for k in runs:
            if (std := self.objs[k].instance_noise):
                with self.stream(k):
                    out[k] = x[k] + std * torch.randn_like(x[k])
        return torch.stack(out)

    def step(self, batch_size: int) -> torch.Tensor:
        """One ``fit`` step for every run; returns (K, 6) statistics, penalty last."""
        zero = torch.zeros((), device=self.device)
        for _ in range(self.objs[0].n_critic):
            real, z = [], []
            for k, o in enumerate(self.objs):  # in fit's order: data, then noise
                with self.stream(k):
                    real.append(self.data.sample(batch_size)[0])
                    z.append(o.latent(batch_size, self.z_dim, self.device))
            real, z = torch.stack(real), torch.stack(z)
            with torch.no_grad():
                fake = self.G(self.g, z)
            every = range(len(self.objs))
            real_in, fake_in = self.noisy(real, every), self.noisy(fake, every)
            if self.one_pass:  # as Objective.discriminator_step does
                both = self.D(self.d, torch.cat([real_in, fake_in], 1))
                real_out, fake_out = both[:, :batch_size], both[:, batch_size:]
            else:
                real_out, fake_out = self.D(self.d, real_in), self.D(self.d, fake_in)
            losses, pens = [], []
            for k, o in enumerate(self.objs):
                loss, pen = o.d_loss(real_out[k], fake_out[k]), zero
                if o.penalty is not None:
                    with self.stream(k):
                        pen = o.penalty(_RunView(self.d_base, self.d, k), real[k], fake[k], None)
                    loss = loss + pen
                losses.append(loss)
                pens.append(pen.detach())
            loss_d = torch.stack(losses)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.sum().backward()  # runs are independent: each slice gets its own gradient
            self.opt_d.step()
            with torch.no_grad():
                for k, o in enumerate(self.objs):
                    if o.clip is not None:
                        for p in self.d.values():
                            p[k].clamp_(-o.clip, o.clip)

        fake = self.G(self.g, self.latents(batch_size))
        frozen = {n: p.detach() for n, p in self.d.items()}
        fake_g = self.D(frozen, self.noisy(fake, range(len(self.objs))))
        needs_real = [k for k, o in enumerate(self.objs) if o.g_needs_real]
        real_g = self.D(frozen, self.noisy(real, needs_real)) if needs_real else None
        loss_g = torch.stack([o.g_loss(fake_g[k], real_g[k] if o.g_needs_real else None)
                              for k, o in enumerate(self.objs)])
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.sum().backward()
        g_norm = torch.stack([p.grad.flatten(1).norm(dim=1) for p in self.g.values()], 1)
        self.opt_g.step()
        return torch.stack([loss_d.detach(), loss_g.detach(), g_norm.norm(dim=1),
                            real_out.detach().mean(1), fake_out.detach().mean(1),
                            torch.stack(pens)], 1)

    def train(self, histories, steps, batch_size, log_every, sample_every, n_fixed, progress):
        fixed_z = torch.randn(n_fixed, self.z_dim,
                              generator=torch.Generator().manual_seed(1234)).to(self.device)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=steps, desc=f"{len(self.objs)} runs", leave=False)
        buffer, t0 = [], time.perf_counter()
        with validation(False):
            for step in range(1, steps + 1):
                buffer.append(self.step(batch_size))
                last = step == steps
                if step % log_every == 0 or last:
                    self._flush(buffer, histories, step, time.perf_counter() - t0)
                    buffer = []
                    if bar is not None:
                        bar.update(step - bar.n)
                if (sample_every and step % sample_every == 0) or last:
                    with torch.no_grad():
                        x = self.G(self.g, fixed_z.expand(len(self.objs), -1, -1)).cpu()
                    for k, h in enumerate(histories):
                        if not h.diverged:
                            h.samples[step] = x[k]
        if bar is not None:
            bar.close()
        with torch.no_grad():  # hand the trained weights back, as fit trains in place
            for k, (G, D) in enumerate(self.nets):
                for net, stacked in ((G, self.g), (D, self.d)):
                    for n, p in net.named_parameters():
                        p.copy_(stacked[n][k])

    def _flush(self, buffer, histories, step, seconds):
        table = torch.stack(buffer).cpu().numpy()  # (steps, K, 6)
        finite = torch.stack([torch.isfinite(p.flatten(1)).all(1)
                              for p in (*self.g.values(), *self.d.values())]).all(0).tolist()
        first = step - len(buffer) + 1
        keys = ("d_loss", "g_loss", "g_grad_norm", "d_real", "d_fake", "penalty")
        for k, (o, h) in enumerate(zip(self.objs, histories)):
            if h.diverged:
                continue
            cols = 6 if o.penalty is not None else 5
            rows = table[:, k, :cols]
            bad = np.flatnonzero(~np.isfinite(rows).all(1))
            if len(bad) or not finite[k]:
                at = f"step {first + bad[0]}" if len(bad) else f"weights by step {step}"
                h.diverged = f"{o.name}: non-finite statistics or weights ({at})"
                rows = rows[:bad[0]] if len(bad) else rows
            h.steps += range(first, first + len(rows))
            for j, key in enumerate(keys[:cols]):
                h.stats.setdefault(key, []).extend(rows[:, j].tolist())
            h.wall_time.append((step, round(seconds, 3)))
