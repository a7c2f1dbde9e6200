"""The Fashion-MNIST classifier in whose features :mod:`ganlib.evaluator` scores images:
its network, the recipe that trains it, and the checked loading of its shipped weights.

Inception weights cannot be downloaded everywhere the book runs, so FID's role is played
by a Fashion-MNIST CNN whose weights ship with the package (``evaluator_weights.pt``, with
its recipe, test accuracy and sha256 in ``evaluator_weights.json``). ``make evaluator``, or
``python -m ganlib.evaluator train``, retrains it from the seed and recipe in :data:`RECIPE`.

The recipe (:data:`RECIPE`): two conv blocks (32 and 64 channels) and a 128-unit layer,
422k parameters (1.7 MB in float32); 8 epochs of Adam, batch 128, one-cycle learning rate
peaking at 2e-3, random horizontal flips, dropout 0.3 before the last layer; seed 0, with
``torch.use_deterministic_algorithms``. About 10.5 CPU-minutes, so 5 to 10 minutes on two
idle CPU cores; 92.5% test accuracy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ganlib import config, data

WEIGHTS = Path(__file__).with_name("evaluator_weights.pt")
N_CLASSES = 10
# The training recipe; the card next to the weights records it with the result.
RECIPE = {
    "seed": 0,
    "epochs": 8,
    "batch": 128,
    "optimizer": "Adam",
    "lr": 2e-3,
    "schedule": "one-cycle cosine (30% warm-up), per step",
    "augment": "random horizontal flip",
    "dropout": 0.3,
    "data": "Fashion-MNIST train (60,000); accuracy on test (10,000)",
}


class Classifier(nn.Module):
    """conv 32 3x3-BN-ReLU-maxpool, conv 64 3x3-BN-ReLU-maxpool, FC 128-ReLU, FC 10.

    ``features`` maps images in [-1, 1] to the 128 penultimate activations the metrics
    use; ``head`` maps those to class logits.
    """

    def __init__(self, dropout: float = RECIPE["dropout"]):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(128, N_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ----------------------------------------------------------------------------- training


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def card_path(weights: str | Path) -> Path:
    """The JSON card that sits next to a weights file."""
    return Path(weights).with_suffix(".json")


@torch.inference_mode()
def accuracy(model: Classifier, images: data.Images, batch: int = 1_000) -> float:
    """Top-1 accuracy in percent of ``model`` (put in eval mode) on ``images``."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(images), batch):
        x = data.to_signed_unit(images.images[i:i + batch].to(device))
        correct += int((model(x).argmax(1) == images.labels[i:i + batch].to(device)).sum())
    return 100.0 * correct / len(images)


def train(out: str | Path = WEIGHTS, epochs: int = RECIPE["epochs"], seed: int = RECIPE["seed"],
          device=None, root=None, progress: bool = True) -> dict:
    """Train the evaluator from scratch with :data:`RECIPE`; write the weights to ``out`` and
    the card (recipe, test accuracy, sha256, versions, wall time) next to it; return the card.

    Seeded and deterministic on one machine (``torch.use_deterministic_algorithms``); on
    another machine or thread count the float sums differ slightly, so the accuracy, not
    the hash, is what a retrain reproduces.
    """
    device = torch.device(device or "cpu")
    t0, cpu0 = time.perf_counter(), time.process_time()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        gen = config.seed_everything(seed)
        train_set = data.fashion_mnist("train", root=root, device=device)
        test_set = data.fashion_mnist("test", root=root, device=device)
        model = Classifier().to(device)
        steps_per_epoch = len(train_set) // RECIPE["batch"]  # the last partial batch is dropped
        opt = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=RECIPE["lr"], total_steps=epochs * steps_per_epoch, pct_start=0.3)
        log = []
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(train_set), generator=gen).to(device)
            flips = torch.rand(len(train_set), generator=gen).to(device) < 0.5
            for s in range(steps_per_epoch):
                idx = order[s * RECIPE["batch"]:(s + 1) * RECIPE["batch"]]
                x = data.to_signed_unit(train_set.images[idx])
                x = torch.where(flips[idx, None, None, None], x.flip(3), x)
                loss = F.cross_entropy(model(x), train_set.labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            acc = accuracy(model, test_set)
            log.append(round(acc, 2))
            if progress:
                print(f"epoch {epoch + 1}/{epochs}: loss {loss.detach().item():.3f}, test accuracy "
                      f"{acc:.2f}% ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, out)
    card = {
        "file": out.name,
        "sha256": sha256(out),
        "bytes": out.stat().st_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "test_accuracy": round(log[-1], 2),
        "accuracy_per_epoch": log,
        "recipe": {**RECIPE, "seed": seed, "epochs": epochs},
        "architecture": Classifier.__doc__.splitlines()[0],
        "train_seconds": round(time.perf_counter() - t0, 1),
        "train_cpu_seconds": round(time.process_time() - cpu0, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    card_path(out).write_text(json.dumps(card, indent=1) + "\n")
    return card


@functools.lru_cache(maxsize=4)
def load(device: str = "cpu", path: str = str(WEIGHTS)) -> Classifier:
    """The trained classifier on ``device``, ready for inference (eval mode, BatchNorm folded
    into the convolutions), its weights' sha256 checked against their card first."""
    path = Path(path)
    card = card_path(path)
    remedy = "run `make evaluator` (or `python -m ganlib.evaluator train`) to retrain it"
    if not path.exists() or not card.exists():
        raise FileNotFoundError(f"evaluator weights {path} or their card {card.name} are "
                                f"missing; {remedy}")
    expected = json.loads(card.read_text())["sha256"]
    if sha256(path) != expected:
        raise ValueError(f"{path} does not match the sha256 recorded in {card.name} "
                         f"({expected[:12]}...): the file is corrupt or stale; {remedy}")
    model = Classifier()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return _for_inference(model.eval()).to(device).requires_grad_(False)


def _for_inference(model: Classifier) -> Classifier:
    """The same function, about three times faster on a CPU: each BatchNorm folded into its
    convolution, max-pooling before ReLU (they commute, and ReLU then sees a quarter of the
    values), channels-last memory for oneDNN."""
    f = model.features  # conv, BN, ReLU, pool, conv, BN, ReLU, pool, flatten, linear, ReLU
    model.features = nn.Sequential(
        fuse_conv_bn_eval(f[0], f[1]), f[3], f[2], fuse_conv_bn_eval(f[4], f[5]), f[7], f[6],
        *f[8:])
    return model.to(memory_format=torch.channels_last)
