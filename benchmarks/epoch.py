"""Seconds per Fashion-MNIST epoch: ``ganlib.train.fit`` against a naive reference loop.

    python -m benchmarks.epoch --loss nonsaturating|wgan-gp|lsgan|dragan [--steps 50]

One epoch is 937 discriminator steps of batch 64 (60,000 images) on the InfoGAN-paper
networks, the setting of the generative-model collections. The reference loop is written
the way those collections write it: a map-style Dataset that converts and normalises one
image at a time, a shuffling DataLoader, each batch copied to the device, noise drawn on
the host, G's graph kept through the discriminator's backward, and ``.item()`` on the
losses every step. It uses ganlib's loss functions and networks, so the two loops differ
only in how they run. ``--steps N`` times N discriminator steps and scales to an epoch.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from benchmarks.floor import largest_product, matmul_rate, step_flops
from ganlib import config, data, losses, models, train
from ganlib.losses import validation

EPOCH_D_STEPS = 937  # 60,000 images in batches of 64


def networks(name: str, kind: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The registry's networks for loss ``name`` where it has them, else the standard pair
    (without BatchNorm in the critic when the loss has a penalty, as WGAN-GP asks)."""
    make_models = getattr(losses, "make_models", None)
    if make_models is not None:
        return make_models(name, kind)
    return models.pair(kind, batchnorm=losses.get(name).penalty is None)


def clock(device: torch.device) -> np.ndarray:
    """Wall and process CPU time once the device has finished its queued work. On a shared
    CPU the process time (with one thread) is the better measure of the work done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return np.array([time.perf_counter(), time.process_time()])


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                f"{torch.get_num_threads()} torch threads")
    return f"{device.type} ({name}), torch {torch.__version__}"


class FashionDataset(Dataset):
    """torchvision-style: uint8 images on the host, transformed one by one when indexed."""

    def __init__(self, images: data.Images):
        self.images = images.images[:, 0].cpu().numpy()
        self.labels = images.labels.cpu().numpy()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        x = torch.from_numpy(np.array(self.images[i])).float().div(255).unsqueeze(0)  # ToTensor
        return (x - 0.5) / 0.5, int(self.labels[i])  # Normalize((0.5,), (0.5,))


def naive_loop(objective, G, D, dataset: Dataset, d_steps: int, device: torch.device,
               batch_size: int = 64) -> dict[str, list[float]]:
    """The reference: ``d_steps`` discriminator steps (a G step every ``n_critic``)."""
    opt_d = objective.make_optimizer(D.parameters())
    opt_g = objective.make_optimizer(G.parameters())
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    hist: dict[str, list[float]] = {"D_loss": [], "G_loss": []}
    it = 0
    with validation(False):
        while it < d_steps:
            for x, _ in loader:
                x = x.to(device)
                z = torch.randn(batch_size, G.z_dim).to(device)
                opt_d.zero_grad()
                d_real = D(x)
                fake = G(z)
                d_fake = D(fake)
                d_loss = objective.d_loss(d_real, d_fake)
                if objective.penalty is not None:
                    d_loss = d_loss + objective.penalty(D, x, fake.detach(), None)
                d_loss.backward()
                opt_d.step()
                if objective.clip is not None:
                    for p in D.parameters():
                        p.data.clamp_(-objective.clip, objective.clip)
                hist["D_loss"].append(d_loss.item())
                if (it + 1) % objective.n_critic == 0:
                    opt_g.zero_grad()
                    fake = G(z)
                    real = D(x).detach() if objective.g_needs_real else None
                    g_loss = objective.g_loss(D(fake), real)
                    g_loss.backward()
                    opt_g.step()
                    hist["G_loss"].append(g_loss.item())
                it += 1
                if it == d_steps:
                    break
    return hist


def time_ganlib(name: str, images: data.Images, d_steps: int,
                **fit_kw) -> tuple[np.ndarray, str]:
    """Wall and CPU seconds for ``d_steps`` discriminator steps of ``fit``, and its path."""
    objective = losses.get(name)
    torch.manual_seed(0)
    G, D = (m.to(images.device) for m in networks(name, "image"))
    steps = math.ceil(d_steps / objective.n_critic)
    t0 = clock(images.device)
    h = train.fit(G, D, objective, images, steps=steps, batch_size=64, progress=False,
                  log_every=100, **fit_kw)
    seconds = clock(images.device) - t0
    return seconds * d_steps / (steps * objective.n_critic), h.path


def time_naive(name: str, images: data.Images, d_steps: int) -> np.ndarray:
    objective = losses.get(name)
    torch.manual_seed(0)
    G, D = (m.to(images.device) for m in networks(name, "image"))
    dataset = FashionDataset(images)
    t0 = clock(images.device)
    naive_loop(objective, G, D, dataset, d_steps, images.device)
    return clock(images.device) - t0


def floor_seconds(name: str, images: data.Images, device: torch.device) -> float:
    """Seconds an epoch's matrix products take at the rate this machine multiplies the
    pair's largest product (``benchmarks/floor.py``)."""
    objective = losses.get(name)
    flops = step_flops(lambda n: time_ganlib(name, images, n * objective.n_critic))
    rate = matmul_rate(*largest_product(list(networks(name, "image")), 64), device)
    return flops / objective.n_critic * EPOCH_D_STEPS / rate


LAYOUTS = {"auto": None, "on": True, "off": False}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epoch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loss", default="nonsaturating",
                        help="nonsaturating, wgan-gp, lsgan, dragan (any registered loss)")
    parser.add_argument("--steps", type=int, default=EPOCH_D_STEPS,
                        help="discriminator steps to time (the result is scaled to 937)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first, each loop")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--root", default=None, help="directory with the Fashion-MNIST files")
    parser.add_argument("--no-naive", action="store_true", help="time ganlib only")
    parser.add_argument("--no-graphs", action="store_true", help="ganlib without CUDA graphs")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--channels-last", choices=list(LAYOUTS), default="auto",
                        help="convolution weights channels-last (auto: fit's default, on a CPU)")
    args = parser.parse_args(argv)
    if args.loss not in losses.names():
        parser.error(f"unknown loss {args.loss!r}; choose from: {', '.join(losses.names())}")
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be positive and --warmup not negative")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = config.get_device(args.device)
    try:
        images = data.fashion_mnist("train", root=args.root, device=device)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    fit_kw = {"compile": args.compile, "bf16": args.bf16,
              "channels_last": LAYOUTS[args.channels_last],
              "graphs": False if args.no_graphs else None}

    print(f"device: {machine(device)}")
    print(f"loss {args.loss}: {args.steps} discriminator steps timed, scaled to "
          f"{EPOCH_D_STEPS} (one epoch of batch 64)")
    if args.warmup:
        time_ganlib(args.loss, images, args.warmup, **fit_kw)
    fast, path = time_ganlib(args.loss, images, args.steps, **fit_kw)
    fast *= EPOCH_D_STEPS / args.steps
    print(f"ganlib ({path}):{fast[0]:9.2f} s/epoch (CPU time {fast[1]:.2f} s)")
    print(f"floor: {floor_seconds(args.loss, images, device):.2f} s/epoch (the epoch's "
          "matrix-product FLOPs over this machine's rate for the pair's largest product)")
    if not args.no_naive:
        if args.warmup:
            time_naive(args.loss, images, args.warmup)
        naive = time_naive(args.loss, images, args.steps) * EPOCH_D_STEPS / args.steps
        print(f"naive reference:{naive[0]:9.2f} s/epoch (CPU time {naive[1]:.2f} s)")
        print(f"speed-up: {naive[0] / fast[0]:.2f}x (CPU time {naive[1] / fast[1]:.2f}x)")


if __name__ == "__main__":
    main()
