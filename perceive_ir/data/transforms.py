"""Aligned random crops and flips of image tuples (degraded, clean[, medium, ...])."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["PairedAugment", "paired_random_crop", "paired_random_flip"]


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(0, high, (1,), generator=generator))


def paired_random_crop(
    images: Sequence[Tensor], size: int | tuple[int, int], generator: torch.Generator | None = None
) -> list[Tensor]:
    """Crop the same random window from every ``C×H×W`` image of ``images``.

    Raises:
        ValueError: the images differ in size, or are smaller than the crop.

    Example:
        >>> import torch
        >>> a = torch.arange(64.).view(1, 8, 8); b = a.clone()
        >>> ca, cb = paired_random_crop([a, b], 4, torch.Generator().manual_seed(0))
        >>> bool(torch.equal(ca, cb)), tuple(ca.shape)
        (True, (1, 4, 4))
    """
    th, tw = (size, size) if isinstance(size, int) else size
    if th < 1 or tw < 1:
        raise ValueError(f"`size` must be positive, got {size!r}.")
    h, w = images[0].shape[-2:]
    for i, img in enumerate(images):
        if img.shape[-2:] != (h, w):
            raise ValueError(f"images[{i}] is {tuple(img.shape[-2:])}, images[0] is {(h, w)}: sizes must match.")
    if h < th or w < tw:
        raise ValueError(f"Cannot crop {th}×{tw} from an image of {h}×{w}: lower `crop` or use larger images.")
    y = _randint(h - th + 1, generator)
    x = _randint(w - tw + 1, generator)
    return [img[..., y : y + th, x : x + tw] for img in images]


def paired_random_flip(
    images: Sequence[Tensor],
    generator: torch.Generator | None = None,
    *,
    hflip: bool = True,
    vflip: bool = False,
    rot90: bool = False,
) -> list[Tensor]:
    """Apply the same random horizontal/vertical flip and 90° rotation to every image.

    Example:
        >>> import torch
        >>> a = torch.rand(3, 4, 4)
        >>> fa, fb = paired_random_flip([a, a.clone()], torch.Generator().manual_seed(1), vflip=True)
        >>> bool(torch.equal(fa, fb))
        True
    """
    out = list(images)
    coins = torch.rand(3, generator=generator)
    if hflip and coins[0] < 0.5:
        out = [img.flip(-1) for img in out]
    if vflip and coins[1] < 0.5:
        out = [img.flip(-2) for img in out]
    if rot90 and coins[2] < 0.5:
        out = [img.rot90(1, dims=(-2, -1)) for img in out]
    return [img.contiguous() for img in out]


class PairedAugment:
    """Aligned random crop + flips for tuples of images, as one callable.

    Args:
        crop: Crop side (int) or ``(h, w)``; ``None`` keeps the full image.
        hflip: Random horizontal flips.
        vflip: Random vertical flips.
        rot90: Random 90° rotations (squares crops only keep their shape).

    Example:
        >>> import torch
        >>> aug = PairedAugment(crop=16, hflip=True)
        >>> lq, gt = aug([torch.rand(3, 32, 32), torch.rand(3, 32, 32)], torch.Generator().manual_seed(0))
        >>> tuple(lq.shape)
        (3, 16, 16)
    """

    def __init__(
        self, crop: int | tuple[int, int] | None = None, *, hflip: bool = True, vflip: bool = False, rot90: bool = False
    ) -> None:
        if crop is not None:
            sizes = (crop, crop) if isinstance(crop, int) else tuple(crop)
            if len(sizes) != 2 or not all(isinstance(s, int) and s > 0 for s in sizes):
                raise ValueError(f"`crop` must be a positive int, a (h, w) pair, or None; got {crop!r}.")
        self.crop = crop
        self.hflip, self.vflip, self.rot90 = bool(hflip), bool(vflip), bool(rot90)

    def __call__(self, images: Sequence[Tensor], generator: torch.Generator | None = None) -> list[Tensor]:
        """Crop and flip all of ``images`` identically, so that they stay aligned (random draws from ``generator``)."""
        out = list(images)
        if self.crop is not None:
            out = paired_random_crop(out, self.crop, generator)
        return paired_random_flip(out, generator, hflip=self.hflip, vflip=self.vflip, rot90=self.rot90)

    def __repr__(self) -> str:
        return f"PairedAugment(crop={self.crop!r}, hflip={self.hflip}, vflip={self.vflip}, rot90={self.rot90})"
