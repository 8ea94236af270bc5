"""Interleaved timing: every variant runs in turn, round after round, so machine noise hits all alike.

Within a round the variants run back to back, and the order is reversed every other round so
that no variant always runs first (right after another's caches or allocations). Ratios are
best taken *per round* (:func:`paired_ratio`): a slow spell of the machine then slows both
sides of the ratio, and the median over rounds drops the rounds it hit unevenly.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence

import torch

__all__ = ["interleaved_times", "interleaved_median", "paired_ratio", "sync"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_times(
    variants: dict[str, Callable[[], object]], device: torch.device, rounds: int = 7, warmup: int = 2
) -> dict[str, list[float]]:
    """Seconds per call of each variant, one entry per measured round, measured round-robin."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(warmup + rounds):
        for name in names if r % 2 == 0 else reversed(names):
            sync(device)
            start = time.perf_counter()
            variants[name]()
            sync(device)
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def interleaved_median(
    variants: dict[str, Callable[[], object]], device: torch.device, rounds: int = 7, warmup: int = 2
) -> dict[str, float]:
    """Median seconds per call of each variant, measured round-robin."""
    times = interleaved_times(variants, device, rounds, warmup)
    return {name: statistics.median(values) for name, values in times.items()}


def paired_ratio(
    times: dict[str, list[float]], numerator: Sequence[str], denominator: Sequence[str]
) -> tuple[float, float, float]:
    """Median and quartiles over rounds of ``sum(numerator times) / sum(denominator times)``."""
    ratios = [
        sum(times[n][r] for n in numerator) / sum(times[d][r] for d in denominator)
        for r in range(len(times[numerator[0]]))
    ]
    if len(ratios) < 4:
        value = statistics.median(ratios)
        return value, min(ratios), max(ratios)
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    return median, q1, q3
