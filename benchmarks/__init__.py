"""Timings of ganlib's training loop (not tests): ``python -m benchmarks.epoch`` and
``python -m benchmarks.sweep2d``; results and how they were taken in ``benchmarks/README.md``."""
