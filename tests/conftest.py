import os

import pytest
import torch

os.environ.setdefault("GANLIB_PROGRESS", "0")
# one process: sweeps would otherwise start a worker per core (tests/test_workers.py does)
os.environ.setdefault("GANLIB_WORKERS", "1")
# The unit tests run small tensors, where extra threads only add contention (measured:
# 41 s with one thread, several times longer with the default on a loaded 2-core machine).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
