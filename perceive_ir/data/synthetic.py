"""Synthetic paired data with four degradation types, for demos, tests and sanity checks.

Clean images are procedural (a smooth colour field, a few sharp-edged rectangles and a
sinusoidal grating), so that each degradation type leaves a visible trace. The degradations
are the library's own (:mod:`perceive_ir.data.degradations`): Gaussian noise, Gaussian blur,
haze and low light, at severities drawn at random per image. AMIRNet's tests and docs use
these pairs to check that the degradation tree separates types it was never told about.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import check_image
from ..errors import InvalidValueError
from .degradations import Degradation, GaussianBlur, GaussianNoise, Haze, LowLight

__all__ = ["DEGRADATION_TYPES", "procedural_images", "degrade", "synthetic_pairs"]

#: Names of the degradation types, in label order.
DEGRADATION_TYPES: tuple[str, ...] = ("noise", "blur", "haze", "low_light")


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def procedural_images(n: int, size: int = 64, *, generator: torch.Generator | None = None) -> Tensor:
    """Random clean RGB images with smooth regions, sharp edges and texture.

    Args:
        n: Number of images.
        size: Height and width.
        generator: Optional ``torch.Generator`` for reproducibility.

    Returns:
        ``(n, 3, size, size)`` float images in ``[0, 1]``.

    Example:
        >>> procedural_images(2, 32).shape
        torch.Size([2, 3, 32, 32])
    """
    if not isinstance(n, int) or n < 1 or not isinstance(size, int) or size < 8:
        raise InvalidValueError(f"`n` must be a positive int and `size` an int >= 8, got {n!r} and {size!r}.")
    coarse = 0.2 + 0.6 * torch.rand(n, 3, 4, 4, generator=generator)
    img = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    for _ in range(4):  # sharp-edged rectangles
        y0 = torch.randint(0, size - 4, (n,), generator=generator)
        x0 = torch.randint(0, size - 4, (n,), generator=generator)
        h = torch.randint(4, size // 2, (n,), generator=generator)
        w = torch.randint(4, size // 2, (n,), generator=generator)
        mask = ((yy >= y0[:, None, None]) & (yy < (y0 + h)[:, None, None])
                & (xx >= x0[:, None, None]) & (xx < (x0 + w)[:, None, None])).unsqueeze(1)
        colour = torch.rand(n, 3, 1, 1, generator=generator)
        img = torch.where(mask, colour, img)
    freq = _uniform(n, 0.15, 0.6, generator)[:, None, None]
    angle = _uniform(n, 0.0, math.pi, generator)[:, None, None]
    phase = (xx * torch.cos(angle) + yy * torch.sin(angle)) * freq
    amp = _uniform(n, 0.05, 0.15, generator)[:, None, None, None]
    img = img + amp * torch.sin(phase).unsqueeze(1)
    return img.clamp(0.0, 1.0)


def _degradation(kind: int, generator: torch.Generator | None) -> Degradation:
    """One degradation of type ``kind`` at a random severity."""
    if kind == 0:
        return GaussianNoise(sigma=float(_uniform(1, 15.0, 50.0, generator)))
    if kind == 1:
        return GaussianBlur(sigma=float(_uniform(1, 1.0, 2.5, generator)))
    if kind == 2:
        beta, air = _uniform(2, 0.0, 1.0, generator).tolist()
        return Haze(beta=0.45 + 0.6 * beta, airlight=0.8 + 0.2 * air)
    exposure, gamma = _uniform(2, 0.0, 1.0, generator).tolist()
    return LowLight(exposure=0.2 + 0.3 * exposure, gamma=1.2 + 0.6 * gamma, photons=None, read_noise=0.0)


def degrade(clean: Tensor, kinds: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """Apply one degradation per image, at a random severity, with the ``perceive_ir.data`` classes.

    * ``0`` noise: :class:`~perceive_ir.data.GaussianNoise`, σ ∈ [15, 50] (0..255 scale);
    * ``1`` blur: :class:`~perceive_ir.data.GaussianBlur`, σ ∈ [1, 2.5] pixels;
    * ``2`` haze: :class:`~perceive_ir.data.Haze`, β ∈ [0.45, 1.05], airlight ∈ [0.8, 1];
    * ``3`` low light: :class:`~perceive_ir.data.LowLight` without sensor noise, exposure
      ∈ [0.2, 0.5], γ ∈ [1.2, 1.8].

    Args:
        clean: ``(B, 3, H, W)`` images in ``[0, 1]``.
        kinds: ``(B,)`` integer types, indices into :data:`DEGRADATION_TYPES`.
        generator: Optional ``torch.Generator``.

    Returns:
        ``(B, 3, H, W)`` degraded images in ``[0, 1]``.

    Raises:
        ValueError: ``kinds`` has the wrong shape or dtype, or holds an unknown type.

    Example:
        >>> import torch
        >>> x = procedural_images(4, 32)
        >>> degrade(x, torch.arange(4)).shape
        torch.Size([4, 3, 32, 32])
    """
    check_image(clean, "clean")
    b = clean.shape[0]
    if kinds.shape != (b,) or kinds.is_floating_point():
        raise InvalidValueError(
            f"`kinds` must be an integer tensor of shape ({b},), got {kinds.dtype} {tuple(kinds.shape)}."
        )
    if ((kinds < 0) | (kinds >= len(DEGRADATION_TYPES))).any():
        raise InvalidValueError(f"`kinds` must lie in 0..{len(DEGRADATION_TYPES) - 1}.")
    out = [
        _degradation(int(kind), generator).apply(image[None], generator).clamp(0.0, 1.0)
        for image, kind in zip(clean, kinds, strict=True)
    ]
    return torch.cat(out)


def synthetic_pairs(
    n: int, size: int = 64, *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """``n`` (degraded, clean) pairs, the four types in turn, and the type of each.

    The type labels are for *evaluating* a clustering only; nothing in AMIRNet trains on them.

    Returns:
        ``degraded`` and ``clean`` ``(n, 3, size, size)`` in ``[0, 1]``, and ``kinds`` ``(n,)`` long.

    Example:
        >>> d, c, k = synthetic_pairs(8, 32)
        >>> d.shape, k.tolist()
        (torch.Size([8, 3, 32, 32]), [0, 1, 2, 3, 0, 1, 2, 3])
    """
    clean = procedural_images(n, size, generator=generator)
    kinds = torch.arange(n) % len(DEGRADATION_TYPES)
    return degrade(clean, kinds, generator=generator), clean, kinds
