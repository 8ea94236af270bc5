"""Synthetic paired data with four degradation types, for demos, tests and sanity checks.

Clean images are procedural (a smooth colour field, a few sharp-edged rectangles and a
sinusoidal grating), so that each degradation type leaves a visible trace: additive Gaussian
noise, Gaussian blur, haze (contrast reduced toward a bright airlight) and low light
(darkening with a gamma curve). Severities are drawn at random per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

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
        raise ValueError(f"`n` must be a positive int and `size` an int >= 8, got {n!r} and {size!r}.")
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


def _gaussian_blur(x: Tensor, sigma: Tensor) -> Tensor:
    radius = int(math.ceil(3 * float(sigma.max())))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    out = []
    for img, s in zip(x, sigma):
        k = torch.exp(-(t**2) / (2 * float(s) ** 2))
        k = k / k.sum()
        c = img.shape[0]
        y = F.pad(img[None], (radius, radius, radius, radius), mode="reflect")
        y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        y = F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        out.append(y[0])
    return torch.stack(out)


def degrade(clean: Tensor, kinds: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """Apply one degradation per image, at a random severity.

    * ``0`` noise: additive Gaussian, σ ∈ [15, 50] / 255;
    * ``1`` blur: Gaussian, σ ∈ [1, 2.5] pixels;
    * ``2`` haze: ``t·x + (1 − t)·A`` with transmission ``t ∈ [0.35, 0.65]``, airlight ``A ∈ [0.8, 1]``;
    * ``3`` low light: ``g · x^γ`` with gain ``g ∈ [0.2, 0.5]``, ``γ ∈ [1.2, 1.8]``.

    Args:
        clean: ``(B, 3, H, W)`` images in ``[0, 1]``.
        kinds: ``(B,)`` integer types, indices into :data:`DEGRADATION_TYPES`.
        generator: Optional ``torch.Generator``.

    Returns:
        ``(B, 3, H, W)`` degraded images in ``[0, 1]``.

    Example:
        >>> import torch
        >>> x = procedural_images(4, 32)
        >>> degrade(x, torch.arange(4)).shape
        torch.Size([4, 3, 32, 32])
    """
    b = clean.shape[0]
    if kinds.shape != (b,) or kinds.is_floating_point():
        raise ValueError(f"`kinds` must be an integer tensor of shape ({b},), got {kinds.dtype} {tuple(kinds.shape)}.")
    if ((kinds < 0) | (kinds >= len(DEGRADATION_TYPES))).any():
        raise ValueError(f"`kinds` must lie in 0..{len(DEGRADATION_TYPES) - 1}.")
    out = clean.clone()
    sel = (kinds == 0).nonzero().flatten()
    if sel.numel():
        sigma = _uniform(sel.numel(), 15 / 255, 50 / 255, generator)[:, None, None, None]
        noise = torch.randn(clean[sel].shape, generator=generator)
        out[sel] = clean[sel] + sigma * noise
    sel = (kinds == 1).nonzero().flatten()
    if sel.numel():
        out[sel] = _gaussian_blur(clean[sel], _uniform(sel.numel(), 1.0, 2.5, generator))
    sel = (kinds == 2).nonzero().flatten()
    if sel.numel():
        t = _uniform(sel.numel(), 0.35, 0.65, generator)[:, None, None, None]
        air = _uniform(sel.numel(), 0.8, 1.0, generator)[:, None, None, None]
        out[sel] = t * clean[sel] + (1 - t) * air
    sel = (kinds == 3).nonzero().flatten()
    if sel.numel():
        gain = _uniform(sel.numel(), 0.2, 0.5, generator)[:, None, None, None]
        gamma = _uniform(sel.numel(), 1.2, 1.8, generator)[:, None, None, None]
        out[sel] = gain * clean[sel].clamp_min(0).pow(gamma)
    return out.clamp(0.0, 1.0)


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
