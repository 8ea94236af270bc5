"""Low light: darker exposure, a gamma curve, and Poisson-Gaussian sensor noise."""

from __future__ import annotations

import torch
from torch import Tensor

from ...errors import InvalidValueError
from .base import Degradation, check_severity, randn

__all__ = ["LowLight"]


class LowLight(Degradation):
    """Simulate an under-exposed photograph.

    ``y = exposure · x^gamma``; then, with ``photons`` set, shot noise
    ``Poisson(y · photons) / photons`` (the signal-dependent part of the Poisson-Gaussian
    sensor model, ``photons`` being the photo-electron count at full scale) plus read noise
    ``N(0, read_noise²)``. Lower ``photons`` means a noisier sensor.

    Args:
        exposure: Brightness scale in ``(0, 1]``.
        gamma: Exponent ``>= 1`` that darkens mid-tones more than highlights.
        photons: Full-scale photo-electron count (``> 0``), or ``None`` for no noise.
        read_noise: Read-noise standard deviation on the ``[0, 1]`` scale (``>= 0``).

    Example:
        >>> import torch
        >>> x = torch.rand(3, 32, 32)
        >>> bool(LowLight(exposure=0.2)(x, seed=0).mean() < x.mean())
        True
    """

    def __init__(
        self, exposure: float = 0.25, gamma: float = 1.5, photons: float | None = 500.0, read_noise: float = 0.01
    ) -> None:
        if not isinstance(exposure, (int, float)) or not 0.0 < exposure <= 1.0:
            raise InvalidValueError(f"`exposure` must be in (0, 1], got {exposure!r}.")
        if not isinstance(gamma, (int, float)) or gamma < 1.0:
            raise InvalidValueError(f"`gamma` must be a number >= 1, got {gamma!r}.")
        if photons is not None and (not isinstance(photons, (int, float)) or photons <= 0):
            raise InvalidValueError(f"`photons` must be a positive number or None, got {photons!r}.")
        if not isinstance(read_noise, (int, float)) or read_noise < 0:
            raise InvalidValueError(f"`read_noise` must be a non-negative number, got {read_noise!r}.")
        self.exposure = float(exposure)
        self.gamma = float(gamma)
        self.photons = None if photons is None else float(photons)
        self.read_noise = float(read_noise)

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        """True unless both the shot noise (``photons=None``) and the read noise are off."""
        return self.photons is not None or self.read_noise > 0

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Darken (``exposure · x^gamma``), then add Poisson shot noise and Gaussian read noise."""
        y = self.exposure * images.clamp_min(0).pow(self.gamma)
        if self.photons is not None:
            rate = (y * self.photons).to(device="cpu", dtype=torch.float32)
            y = (torch.poisson(rate, generator=generator) / self.photons).to(images.device, images.dtype)
        if self.read_noise > 0:
            y = y + randn(y.shape, generator, y) * self.read_noise
        return y

    @classmethod
    def from_severity(cls, severity: float) -> "LowLight":
        """Exposure 0.6→0.08 and gamma 1.2→2.0 as severity goes 0→1 (500 photons, read noise 0.01)."""
        s = check_severity(severity)
        return cls(exposure=0.6 - 0.52 * s, gamma=1.2 + 0.8 * s)
