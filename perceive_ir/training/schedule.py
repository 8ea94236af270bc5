"""Learning-rate schedule: linear warmup, then cosine decay to a floor."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from .._validation import check_int
from ..errors import InvalidValueError

__all__ = ["WarmupCosine", "warmup_cosine"]


@dataclass
class WarmupCosine:
    """The factor applied to the base learning rate at optimizer step ``step``.

    A plain dataclass (not a lambda), so ``LambdaLR.state_dict`` saves it with the checkpoint.

    Example:
        >>> f = WarmupCosine(warmup_steps=2, total_steps=10, min_ratio=0.0)
        >>> [round(f(s), 3) for s in (0, 1, 2, 10)]
        [0.5, 1.0, 1.0, 0.0]
    """

    warmup_steps: int
    total_steps: int
    min_ratio: float = 0.0

    def __call__(self, step: int) -> float:
        """``(step + 1) / warmup_steps`` during warmup, then cosine from 1 down to ``min_ratio`` at ``total_steps``."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine(optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.0) -> LambdaLR:
    """A ``LambdaLR`` with linear warmup over ``warmup_steps`` and cosine decay until ``total_steps``.

    Args:
        optimizer: The optimizer.
        total_steps: Optimizer steps of the whole run.
        warmup_steps: Steps of linear warmup from ``lr / warmup_steps`` to ``lr``.
        min_ratio: Final learning rate as a fraction of the base one.

    Raises:
        ValueError: non-positive ``total_steps``, negative ``warmup_steps``, ``min_ratio`` outside ``[0, 1]``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = warmup_cosine(opt, total_steps=4)
        >>> opt.param_groups[0]["lr"]
        1.0
    """
    check_int(total_steps, "total_steps")
    check_int(warmup_steps, "warmup_steps", minimum=0)
    if not 0.0 <= min_ratio <= 1.0:
        raise InvalidValueError(f"`min_ratio` must lie in [0, 1], got {min_ratio!r}.")
    return LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, float(min_ratio)))
