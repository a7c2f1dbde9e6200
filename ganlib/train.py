"""``fit``: the one training loop for every loss in the book.

The loop is deliberately plain: sample real data (resident on the device), sample noise,
``n_critic`` discriminator updates, one generator update. Everything a particular loss
needs is asked of its :class:`~ganlib.objective.Objective`. Statistics stay on the device
and are copied to the host every ``log_every`` steps, where a NaN guard checks them.

On a CUDA device the whole step (the ``n_critic`` discriminator updates with their
penalties and weight clipping, the generator update, the objective's own state) is
recorded once as a CUDA graph and replayed, with optimisers in ``capturable`` mode. Where
recording is impossible the same step runs eagerly; ``History.path`` says which ran.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganlib.graphs import GRAPH_WARMUP, capture, set_capturable, stack
from ganlib.history import (  # noqa: F401 (the loop's interface too)
    CHECKPOINT_FORMAT,
    History,
    TrainingDiverged,
    check_resume,
    load_checkpoint,
    read_checkpoint,
    run_record,
    save_checkpoint,
)
from ganlib.losses import validation
from ganlib.objective import Objective
from ganlib.sampling import generate, seeded, seeded_latent  # noqa: F401 (interface)

STAT_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "penalty")


def _grad_norm(module: nn.Module) -> torch.Tensor:
    """The norm of the per-parameter gradient norms, in one foreach call (on a CPU the same
    numbers as a loop of ``p.grad.norm()``, in about half the time for the 2-D generator)."""
    grads = [p.grad.detach() for p in module.parameters() if p.grad is not None]
    return torch.stack(torch._foreach_norm(grads)).norm() if grads else torch.zeros(())


def fit(G: nn.Module, D: nn.Module, objective: Objective, data, *, steps: int,
        batch_size: int = 64, lr: float | None = None, lr_d: float | None = None,
        lr_g: float | None = None, betas: tuple[float, float] | None = None,
        conditional: bool = False, seed: int | None = 0, log_every: int = 50,
        sample_every: int | None = None, n_fixed: int = 64, checkpoint: str | Path | None = None,
        checkpoint_every: int | None = None, resume: str | Path | None = None,
        progress: bool | None = None, graphs: bool | None = None, compile: bool = False,
        bf16: bool = False, channels_last: bool | None = None, ema: nn.Module | None = None,
        ema_decay: float = 0.999, lr_decay: float = 0.0,
        callback: Callable[[int], None] | None = None) -> History:
    """Train ``G`` and ``D`` with ``objective`` on ``data`` for ``steps`` generator steps.

    Args:
        data: an object with ``sample(n) -> (x, labels)`` on the models' device
            (``ganlib.data.ring8()``, ``fashion_mnist()``...).
        lr, betas: override the objective's paper defaults for both networks;
            ``lr_d`` / ``lr_g`` set them separately (two time-scale update rule); without
            ``lr_d`` the discriminator's rate is ``objective.lr_d_x`` times ``lr`` (the
            objective's when None), whatever ``lr_g`` is.
        conditional: feed the data's labels to both networks (conditional GAN).
        seed: seeds torch before training (``None`` leaves the RNG alone).
        log_every: how often statistics are copied to the host and checked for NaN.
        sample_every: store samples from a fixed noise batch this often (and at the end).
        checkpoint: file to write every ``checkpoint_every`` steps and at the end.
        resume: checkpoint to continue from; the run then matches an uninterrupted one.
        progress: show a tqdm bar (default: unless ``GANLIB_PROGRESS=0``).
        graphs: replay each step as a CUDA graph (default: on CUDA devices); the eager
            step runs instead where recording fails, with a warning.
        compile: ``torch.compile`` both networks (not with penalties: no double backward).
        bf16: run forward passes and losses under bfloat16 autocast.
        channels_last: store convolution weights channels-last (default: on a CPU, where
            oneDNN's convolutions run faster that way: the small image pair's step 13%
            faster, the autoencoder discriminator's 21%; a no-op without convolutions).
        ema: a copy of ``G`` (``copy.deepcopy(G)``) that becomes an exponential moving
            average of G's weights, ``ema = d * ema + (1 - d) * G`` after every generator
            step t, with ``d = min(ema_decay, (1 + t) / (10 + t))`` (buffers are copied);
            sample from it to evaluate (Yazici et al. 2019). The ramp (TensorFlow's
            ``ExponentialMovingAverage`` with ``num_updates``) forgets the initial weights
            within a few dozen steps; at a constant 0.999 they would still weigh 0.999^3000
            = 5% after 3,000 steps, enough to blur modes of std 0.02. Not checkpointed.
        lr_decay: the fraction of ``steps`` at the end over which both learning rates fall
            linearly towards zero (the last step runs at ``1/n`` of the rate, ``n`` the
            steps decayed); 0, the default, keeps them constant. The rate of a step depends
            on the step alone, so a resumed run decays as an uninterrupted one. With a decay
            the step runs eagerly (a CUDA graph would keep the rate it was recorded with).
        callback: called as ``callback(step)`` after every step (for example to score the
            generator along the way); it must leave the random state as it found it.
        (``compile`` and ``bf16`` are off by default: see ``benchmarks/README.md`` for what
        they and ``channels_last`` were measured to give.)
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    device = next(G.parameters()).device
    if graphs and device.type != "cuda":
        raise ValueError(f"graphs=True needs a CUDA device; the networks are on {device}")
    if ema is not None and not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
    if not 0.0 <= lr_decay <= 1.0:
        raise ValueError(f"lr_decay is the fraction of the steps over which the learning "
                         f"rates decay, in [0, 1]; got {lr_decay}")
    if compile and objective.penalty is not None:
        raise ValueError(f"{objective.name}: compile=True cannot train a loss with a penalty "
                         "(torch.compile does not support the double backward penalties need)")
    if graphs and lr_decay:
        raise ValueError("graphs=True records the learning rate into the graph: it cannot "
                         "decay (use lr_decay=0, or graphs=None to train eagerly)")
    use_graphs = device.type == "cuda" and not lr_decay if graphs is None else graphs
    if seed is not None:
        torch.manual_seed(seed)
    if channels_last is None:
        channels_last = device.type == "cpu"
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    z_dim = G.z_dim
    extra = objective.extra_modules()
    d_params = list(D.parameters()) + [p for m in extra.values() for p in m.parameters()]
    for module in extra.values():  # e.g. InfoGAN's Q head, trained beside D
        module.to(device)
    ema_count = torch.zeros((), device=device)  # a tensor, so a CUDA graph can advance it
    opt_d = objective.make_optimizer(d_params, objective.lr_d(lr) if lr_d is None else lr_d, betas)
    opt_g = objective.make_optimizer(G.parameters(), lr if lr_g is None else lr_g, betas)
    decay = _lr_schedule((opt_d, opt_g), steps, lr_decay)  # the rates before any resume
    # the same inputs for the snapshots of every run, drawn as the objective draws them
    fixed_z = seeded_latent(objective.latent, n_fixed, z_dim, 1234).to(device)
    fixed_y = (torch.arange(n_fixed, device=device) % G.n_classes) if conditional else None

    history, start = History(loss=objective.name), 0
    run = run_record(data, batch_size)
    if resume is not None:
        start, history = load_checkpoint(resume, G, D, objective, opt_d, opt_g, run=run,
                                         steps=steps)
    for opt in (opt_d, opt_g):  # the same optimiser maths in both paths on CUDA
        set_capturable(opt, device.type == "cuda")

    if progress is None:
        progress = os.environ.get("GANLIB_PROGRESS", "1") != "0"
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, initial=start, desc=objective.name, leave=False)

    Gc, Dc = (torch.compile(G), torch.compile(D)) if compile else (G, D)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def one_step() -> dict[str, torch.Tensor]:
        """``n_critic`` discriminator updates, then one generator update; nothing syncs."""
        D.requires_grad_(True)
        for _ in range(objective.n_critic):
            real, y_real = data.sample(batch_size)
            y = y_real if conditional else None
            z = objective.latent(batch_size, z_dim, device)
            with autocast:
                with torch.no_grad():
                    fake = Gc(z) if y is None else Gc(z, y)
                loss_d, stats = objective.discriminator_step(Dc, real, fake, y)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            objective.after_discriminator_step(D)

        D.requires_grad_(False)
        z = objective.latent(batch_size, z_dim, device)
        with autocast:
            fake = Gc(z) if y is None else Gc(z, y)
            loss_g, g_stats = objective.generator_step(Dc, real, fake, y, z)
        opt_g.zero_grad(set_to_none=True)
        if extra:  # objective-owned heads (InfoGAN's Q) learn from the G loss, D does not
            opt_d.zero_grad(set_to_none=True)
        loss_g.backward()
        g_norm = _grad_norm(G)
        opt_g.step()
        if extra:
            opt_d.step()
        objective.after_generator_step(loss_d.detach(), loss_g.detach(), stats)
        if ema is not None:
            _ema_update(ema, G, ema_decay, ema_count)
        D.requires_grad_(True)
        return {"d_loss": loss_d.detach(), "g_loss": loss_g.detach(), "g_grad_norm": g_norm,
                **stats, **g_stats}

    history.path = "eager"
    graph = static_row = keys = side = None
    buffer: list[torch.Tensor] = []
    t0 = time.perf_counter() - history.seconds
    with validation(False):
        for step in range(start + 1, steps + 1):
            if decay is not None:
                decay(step)
            warm = use_graphs and step <= start + GRAPH_WARMUP
            if use_graphs and step == start + GRAPH_WARMUP + 1:
                captured = capture(one_step, objective)
                if captured is not None:
                    graph, static_row, keys = captured
                    history.path = "cuda-graph"
                use_graphs = False  # one attempt per call
            if graph is not None:
                graph.replay()
                buffer.append(static_row.clone())
            else:
                if warm:  # warm-up steps run on a side stream, as graph capture requires
                    if side is None:
                        side = torch.cuda.Stream()
                    side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side) if warm else contextlib.nullcontext():
                    row = one_step()
                    keys = list(row)
                    buffer.append(stack(row))
                if warm:
                    torch.cuda.current_stream().wait_stream(side)

            last = step == steps
            if step % log_every == 0 or last:
                _flush(buffer, keys, history, step, G, D, objective.name)
                buffer = []
                history.wall_time.append((step, round(time.perf_counter() - t0, 3)))
                if bar is not None:
                    bar.update(step - bar.n)
                    bar.set_postfix(d=f"{history.stats['d_loss'][-1]:.3f}",
                                    g=f"{history.stats['g_loss'][-1]:.3f}")
            if (sample_every and step % sample_every == 0) or last:
                history.samples[step] = generate(G, n_fixed, z=fixed_z, y=fixed_y).cpu()
            if checkpoint is not None and ((checkpoint_every and step % checkpoint_every == 0)
                                           or last):
                if buffer:  # only checkpoint states whose statistics passed the NaN guard
                    _flush(buffer, keys, history, step, G, D, objective.name)
                    buffer = []
                save_checkpoint(checkpoint, step, G, D, objective, opt_d, opt_g, history, run)
            if callback is not None:
                callback(step)
    D.requires_grad_(True)
    if bar is not None:
        bar.close()
    return history


def _lr_schedule(optimizers, steps: int, fraction: float):
    """A function that sets every optimiser's rate for generator step ``step`` (1-based):
    the rate it was built with, times ``min(1, (steps - step + 1) / n)`` over the last ``n =
    round(fraction * steps)`` steps; None when nothing decays."""
    n = round(fraction * steps)
    if n < 1:
        return None
    base = [[group["lr"] for group in opt.param_groups] for opt in optimizers]

    def set_rates(step: int) -> None:
        factor = min(1.0, (steps - step + 1) / n)
        for opt, rates in zip(optimizers, base):
            for group, lr in zip(opt.param_groups, rates):
                group["lr"] = lr * factor

    return set_rates


@torch.no_grad()
def _ema_update(ema: nn.Module, G: nn.Module, decay: float, count: torch.Tensor) -> None:
    """Count one more update and move ``ema``'s weights a fraction ``1 - d`` towards
    ``G``'s, ``d = min(decay, (1 + count) / (10 + count))``; copy the buffers."""
    count.add_(1)
    weight = 1.0 - ((1 + count) / (10 + count)).clamp(max=decay)
    for a, p in zip(ema.parameters(), G.parameters()):
        a.lerp_(p, weight)
    for a, b in zip(ema.buffers(), G.buffers()):
        a.copy_(b)


def _flush(buffer: list[torch.Tensor], keys: list[str], history: History, step: int, G, D,
           loss_name: str) -> None:
    """Copy buffered statistics to the host, stopping at the first non-finite value."""
    table = torch.stack(buffer).cpu().numpy()
    first_step = step - len(buffer) + 1
    for i, values in enumerate(table):
        bad = [k for k, v in zip(keys, values) if not np.isfinite(v)]
        if bad:
            raise TrainingDiverged(
                f"{loss_name}: non-finite {', '.join(bad)} at step {first_step + i}; training "
                "stopped and the last good checkpoint (if any) is kept. Try a lower learning "
                "rate, a penalty, or a loss with bounded gradients.")
    for name, net in (("generator", G), ("discriminator", D)):
        if not all(torch.isfinite(p).all() for p in net.parameters()):
            raise TrainingDiverged(f"{loss_name}: non-finite {name} weights by step {step}; "
                                   "training stopped and the last good checkpoint is kept.")
    for i, values in enumerate(table):
        history.steps.append(first_step + i)
        for k, v in zip(keys, values):
            history.stats.setdefault(k, []).append(float(v))
