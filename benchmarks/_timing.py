"""Interleaved timing: every variant runs in turn, round after round, so machine noise hits all alike."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch

__all__ = ["interleaved_median", "sync"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_median(
    variants: dict[str, Callable[[], object]], device: torch.device, rounds: int = 7, warmup: int = 2
) -> dict[str, float]:
    """Median seconds per call of each variant, measured round-robin."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(warmup + rounds):
        for name, fn in variants.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
