"""Haze by the atmospheric scattering model ``I = J·t + A·(1 − t)``, ``t = exp(−β·d)``."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from kornia.filters import gaussian_blur2d
from torch import Tensor

from ...errors import InvalidValueError
from .base import Degradation, check_severity, rand

__all__ = ["Haze"]

DepthProxy = Literal["gradient", "luminance"]


class Haze(Degradation):
    """Add haze with the atmospheric scattering model (Koschmieder; used to synthesise RESIDE).

    ``I = J·t + A·(1 − t)`` with transmission ``t = exp(−β·d)``. Real scene depth is unknown,
    so ``d`` in ``[0, 1]`` comes from a proxy:

    * ``"gradient"`` (default): ``0.7·(1 − y/H) + 0.3·n`` — far at the top, near at the bottom
      (the usual outdoor layout), plus a smooth random field ``n`` (a 4×4 uniform grid
      upsampled bicubically and rescaled to ``[0, 1]``) drawn from the seed;
    * ``"luminance"``: the image's own luminance, smoothed with a wide Gaussian and
      rescaled to ``[0, 1]`` per image — brighter regions (sky) count as farther; deterministic.

    Args:
        beta: Scattering coefficient (``>= 0``); larger is denser haze.
        airlight: Atmospheric light ``A`` in ``[0, 1]``, one value or one per RGB channel.
        depth: The depth proxy, ``"gradient"`` or ``"luminance"``.

    Example:
        >>> import torch
        >>> y = Haze(beta=1.5, airlight=0.9)(torch.rand(3, 48, 64), seed=0)
        >>> tuple(y.shape)
        (3, 48, 64)
    """

    def __init__(
        self, beta: float = 1.0, airlight: float | tuple[float, float, float] = 0.8, depth: DepthProxy = "gradient"
    ) -> None:
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
            raise InvalidValueError(f"`beta` must be a non-negative number, got {beta!r}.")
        values = [airlight] if isinstance(airlight, (int, float)) else list(airlight)
        if len(values) not in (1, 3) or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values):
            raise InvalidValueError(f"`airlight` must be a number in [0, 1] or three of them, got {airlight!r}.")
        if depth not in ("gradient", "luminance"):
            raise InvalidValueError(f"`depth` must be 'gradient' or 'luminance', got {depth!r}.")
        self.beta = float(beta)
        self.airlight = float(values[0]) if len(values) == 1 else tuple(float(v) for v in values)
        self.depth = depth

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        """True for the ``"gradient"`` depth, whose smooth random field is drawn per image."""
        return self.depth == "gradient"

    def depth_map(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """The ``B×1×H×W`` depth proxy in ``[0, 1]``."""
        b, _, h, w = images.shape
        if self.depth == "gradient":
            ramp = torch.linspace(1.0, 0.0, h, device=images.device, dtype=images.dtype).view(1, 1, h, 1)
            grid = rand((b, 1, 4, 4), generator, images)
            field = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=True)
            return 0.7 * ramp + 0.3 * _rescale(field)
        lum = 0.299 * images[:, 0:1] + 0.587 * images[:, 1:2] + 0.114 * images[:, 2:3]
        sigma = max(h, w) / 16
        k = min(2 * int(2 * sigma) + 1, 2 * (min(h, w) // 2) - 1)
        smooth = gaussian_blur2d(lum, (k, k), (sigma, sigma), border_type="reflect") if k >= 3 else lum
        return _rescale(smooth)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Atmospheric scattering: ``I·t + A·(1 − t)`` with transmission ``t = exp(−β·depth)``."""
        t = torch.exp(-self.beta * self.depth_map(images, generator))
        a = torch.as_tensor(self.airlight, device=images.device, dtype=images.dtype).reshape(1, -1, 1, 1)
        return images * t + a * (1.0 - t)

    @classmethod
    def from_severity(cls, severity: float) -> "Haze":
        """β from 0.3 (severity 0) to 3.0 (severity 1), airlight 0.8, gradient depth."""
        return cls(beta=0.3 + 2.7 * check_severity(severity))


def _rescale(x: Tensor) -> Tensor:
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(1e-6)
