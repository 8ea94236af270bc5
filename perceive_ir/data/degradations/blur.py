"""Gaussian and motion blur, both computed with kornia's filters."""

from __future__ import annotations

import math

import torch
from kornia.filters import gaussian_blur2d, motion_blur
from torch import Tensor

from ..._validation import check_int
from ...errors import InvalidTypeError, InvalidValueError
from .base import Degradation, check_severity, rand

__all__ = ["GaussianBlur", "MotionBlur"]


class GaussianBlur(Degradation):
    """Isotropic Gaussian blur (``kornia.filters.gaussian_blur2d``, reflect borders).

    Deterministic: ``seed`` has no effect.

    Args:
        sigma: Standard deviation of the kernel in pixels (``> 0``).
        kernel_size: Odd kernel side; default ``2·ceil(3σ) + 1``.

    Example:
        >>> import torch
        >>> y = GaussianBlur(sigma=2.0)(torch.rand(3, 32, 32))
        >>> tuple(y.shape)
        (3, 32, 32)
    """

    stochastic = False

    def __init__(self, sigma: float = 2.0, kernel_size: int | None = None) -> None:
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma <= 0:
            raise InvalidValueError(f"`sigma` must be a positive number of pixels, got {sigma!r}.")
        if kernel_size is None:
            kernel_size = 2 * math.ceil(3 * float(sigma)) + 1
        check_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise InvalidValueError(f"`kernel_size` must be an odd positive int, got {kernel_size!r}.")
        self.sigma = float(sigma)
        self.kernel_size = kernel_size

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Blur with the Gaussian kernel (reflect borders; replicate on images too small to reflect)."""
        k = self.kernel_size
        h, w = images.shape[-2:]
        border = "reflect" if k // 2 < min(h, w) else "replicate"
        return gaussian_blur2d(images, (k, k), (self.sigma, self.sigma), border_type=border)

    @classmethod
    def from_severity(cls, severity: float) -> "GaussianBlur":
        """σ from 0.5 px (severity 0) to 4 px (severity 1)."""
        return cls(sigma=0.5 + 3.5 * check_severity(severity))


class MotionBlur(Degradation):
    """Linear motion blur (``kornia.filters.motion_blur``, reflect borders).

    The kernel is a line of ``length`` pixels through the centre at ``angle`` degrees,
    measured counter-clockwise from the horizontal image axis (0 = horizontal, 90 =
    vertical); kornia draws the rotated line with nearest-neighbour sampling, so diagonal
    kernels cover about ``length/√2`` pixels. With ``angle=None`` each image of the batch
    gets its own random angle in ``[0, 180)`` drawn from the seed.

    Args:
        length: Odd kernel length in pixels (``>= 3``).
        angle: Blur direction in degrees, or ``None`` for random.

    Example:
        >>> import torch
        >>> y = MotionBlur(length=9, angle=0.0)(torch.rand(2, 3, 32, 32))
        >>> tuple(y.shape)
        (2, 3, 32, 32)
    """

    def __init__(self, length: int = 15, angle: float | None = None) -> None:
        check_int(length, "length", minimum=3)
        if length % 2 == 0:
            raise InvalidValueError(f"`length` must be an odd int >= 3, got {length!r}.")
        if angle is not None and (isinstance(angle, bool) or not isinstance(angle, (int, float))):
            raise InvalidTypeError(f"`angle` must be a number of degrees or None, got {type(angle).__name__}.")
        self.length = length
        self.angle = None if angle is None else float(angle)

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        """True when the angle is drawn at random (``angle=None``)."""
        return self.angle is None

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Blur along a line of ``length`` pixels, at the fixed angle or a random one per image."""
        b = images.shape[0]
        if self.angle is None:
            angle = rand((b,), generator, images) * 180.0
        else:
            angle = torch.full((b,), self.angle, device=images.device, dtype=images.dtype)
        direction = torch.zeros(b, device=images.device, dtype=images.dtype)
        border = "reflect" if self.length // 2 < min(images.shape[-2:]) else "replicate"
        return motion_blur(images, self.length, angle, direction, border_type=border)

    @classmethod
    def from_severity(cls, severity: float) -> "MotionBlur":
        """Length from 5 px (severity 0) to 33 px (severity 1), random angle."""
        return cls(length=2 * round(2 + 14 * check_severity(severity)) + 1)
