"""How long ``ganlib.evaluate`` takes on 10,000 samples (the target: under 60 s on 2 CPU cores).

    .venv/bin/python -m benchmarks.evaluator [--n 10000] [--threads 2] [--device cpu]

Three timings, each of ``n`` samples:

* cold: the first call in a process, which also loads Fashion-MNIST, computes the reference
  (10,000 training images) and test-split features, their k-NN radii and the floor;
* warm, tensor: a second call on images already in memory (what every later call costs);
* warm, generator: the same with an untrained infoGAN-paper generator drawing the samples,
  so the generator's own forward passes are included.

Each is reported as wall seconds and as CPU seconds of the process (all threads): on a
shared machine the wall time depends on the other jobs, the CPU time much less. The load
average at the end is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from ganlib import data, models
from ganlib.evaluator import evaluate


def timed(fn):
    """The result, wall seconds, and CPU seconds of this process (all threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    train_set = data.fashion_mnist("train")
    gen = torch.Generator().manual_seed(1)
    real = data.to_signed_unit(train_set.images[torch.randperm(len(train_set), generator=gen)])
    first, second = real[-args.n:].to(device), real[-2 * args.n:-args.n].to(device)
    G, _ = models.pair("image")
    G = G.to(device)

    cold, *t_cold = timed(lambda: evaluate(first, device=device))
    _, *t_tensor = timed(lambda: evaluate(second, device=device))
    fake, *t_generator = timed(lambda: evaluate(G, n=args.n, device=device))
    report = {
        "n": args.n,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "cold_s": round(t_cold[0], 1),
        "warm_tensor_s": round(t_tensor[0], 1),
        "warm_generator_s": round(t_generator[0], 1),
        "cold_cpu_s": round(t_cold[1], 1),
        "warm_tensor_cpu_s": round(t_tensor[1], 1),
        "warm_generator_cpu_s": round(t_generator[1], 1),
        "features_mb": round(args.n * 128 * 4 / 2**20, 1),
        "real_train_images": cold.as_dict(),
        "untrained_generator": fake.as_dict(),
    }
    print(cold.table(), "\n", sep="")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
