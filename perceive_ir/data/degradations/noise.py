"""Additive white Gaussian noise, with σ on the 0..255 scale as in the denoising literature."""

from __future__ import annotations

import torch
from torch import Tensor

from ...errors import InvalidValueError
from .base import Degradation, check_severity, randn

__all__ = ["GaussianNoise"]


class GaussianNoise(Degradation):
    """Add i.i.d. Gaussian noise of standard deviation ``sigma / 255`` to every pixel and channel.

    The standard all-in-one denoising setting uses σ = 15, 25 and 50 (presets ``"noise15"``,
    ``"noise25"``, ``"noise50"``). The output is clamped to ``[0, 1]``.

    Args:
        sigma: Noise standard deviation on the 0..255 scale (``>= 0``).

    Example:
        >>> import torch
        >>> noisy = GaussianNoise(sigma=25)(torch.full((3, 64, 64), 0.5), seed=0)
        >>> round(float(noisy.std()) * 255)
        25
    """

    def __init__(self, sigma: float = 25.0) -> None:
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma < 0:
            raise InvalidValueError(f"`sigma` must be a non-negative number (0..255 scale), got {sigma!r}.")
        self.sigma = float(sigma)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Add white Gaussian noise of standard deviation ``sigma / 255``."""
        return images + randn(images.shape, generator, images) * (self.sigma / 255.0)

    @classmethod
    def from_severity(cls, severity: float) -> "GaussianNoise":
        """σ from 5 (severity 0) to 75 (severity 1)."""
        return cls(sigma=5.0 + 70.0 * check_severity(severity))
