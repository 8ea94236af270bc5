"""The protocol shared by every degradation-condition source.

A condition source maps a degraded image batch to one vector per image that conditions the
guidance of a wrapped backbone: the CFE embedding (Perceive-IR) and the degradation tree's
soft memberships (AMIRNet) are both condition sources, and so is any module of the user's
that has a ``cond_dim`` attribute and returns ``(B, cond_dim)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor

__all__ = ["ConditionSource"]


@runtime_checkable
class ConditionSource(Protocol):
    """Anything callable as ``source(degraded) -> (B, cond_dim)`` with a ``cond_dim`` attribute."""

    cond_dim: int

    def __call__(self, degraded: Tensor) -> Tensor:  # pragma: no cover - protocol
        """Map ``(B, 3, H, W)`` degraded images to ``(B, cond_dim)`` condition vectors."""
