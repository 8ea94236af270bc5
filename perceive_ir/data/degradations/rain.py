"""Synthetic rain streaks: sparse random drops smeared along a direction, added to the image."""

from __future__ import annotations

import torch
from kornia.filters import gaussian_blur2d, motion_blur
from torch import Tensor

from ..._validation import check_int
from ...errors import InvalidValueError
from .base import Degradation, check_severity, rand

__all__ = ["Rain"]


class Rain(Degradation):
    """Add rain streaks (additive model, as in Rain100L-style synthesis).

    A streak layer is built per image: drops are placed where uniform noise falls below
    ``density`` with brightness uniform in ``[0.5, 1]``, slightly softened, smeared into lines
    of ``length`` pixels with ``kornia.filters.motion_blur`` and rescaled so a single streak
    of a brightness-1 drop peaks at 1. The output is ``image + intensity · streaks`` (the same gray layer on all
    three channels), clamped to ``[0, 1]``.

    Args:
        density: Fraction of pixels that start a streak, in ``(0, 1]``.
        length: Streak length in pixels (odd, ``>= 3``).
        angle: Streak direction in degrees from the vertical, counter-clockwise.
        angle_jitter: Each image's angle is drawn uniformly within ``± angle_jitter``.
        intensity: Streak brightness in ``(0, 1]``.

    Example:
        >>> import torch
        >>> y = Rain(density=0.01)(torch.rand(3, 64, 64) * 0.5, seed=1)
        >>> bool((y >= 0).all() and (y <= 1).all())
        True
    """

    def __init__(
        self,
        density: float = 0.004,
        length: int = 21,
        angle: float = 10.0,
        angle_jitter: float = 5.0,
        intensity: float = 0.7,
    ) -> None:
        if not isinstance(density, (int, float)) or not 0.0 < density <= 1.0:
            raise InvalidValueError(f"`density` must be in (0, 1], got {density!r}.")
        check_int(length, "length", minimum=3)
        if length % 2 == 0:
            raise InvalidValueError(f"`length` must be an odd int >= 3, got {length!r}.")
        if not isinstance(angle, (int, float)) or not isinstance(angle_jitter, (int, float)) or angle_jitter < 0:
            raise InvalidValueError(
                f"`angle` must be a number and `angle_jitter` >= 0, got {angle!r}, {angle_jitter!r}."
            )
        if not isinstance(intensity, (int, float)) or not 0.0 < intensity <= 1.0:
            raise InvalidValueError(f"`intensity` must be in (0, 1], got {intensity!r}.")
        self.density = float(density)
        self.length = length
        self.angle = float(angle)
        self.angle_jitter = float(angle_jitter)
        self.intensity = float(intensity)

    def streaks(self, shape: tuple[int, int, int], generator: torch.Generator | None, like: Tensor) -> Tensor:
        """The ``B×1×H×W`` streak layer in ``[0, 1]``."""
        b, h, w = shape
        u = rand((b, 1, h, w), generator, like)
        bright = rand((b, 1, h, w), generator, like) * 0.5 + 0.5
        drops = (u < self.density).to(like.dtype) * bright
        drops = gaussian_blur2d(drops, (3, 3), (0.6, 0.6), border_type="constant")
        jitter = (rand((b,), generator, like) * 2 - 1) * self.angle_jitter
        angle = 90.0 + self.angle + jitter  # kornia: degrees from the horizontal axis
        direction = torch.zeros(b, device=like.device, dtype=like.dtype)
        lines = motion_blur(drops, self.length, angle, direction, border_type="constant")
        # rescale so one isolated drop of brightness 1 peaks at exactly 1, whatever the angle
        size = self.length + 4
        dot = torch.zeros(b, 1, size, size, device=like.device, dtype=like.dtype)
        dot[..., size // 2, size // 2] = 1.0
        dot = gaussian_blur2d(dot, (3, 3), (0.6, 0.6), border_type="constant")
        peak = motion_blur(dot, self.length, angle, direction, border_type="constant").amax(dim=(1, 2, 3))
        return (lines / peak.view(b, 1, 1, 1)).clamp(0.0, 1.0)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Add a fresh streak layer per image, scaled by ``intensity``."""
        b, _, h, w = images.shape
        return images + self.intensity * self.streaks((b, h, w), generator, images)

    @classmethod
    def from_severity(cls, severity: float) -> "Rain":
        """Density 0.001→0.012, intensity 0.5→0.9, length 11→31 px as severity goes 0→1."""
        s = check_severity(severity)
        return cls(density=0.001 + 0.011 * s, length=2 * round(5 + 10 * s) + 1, intensity=0.5 + 0.4 * s)
