"""Aligned random crops and flips of image tuples (degraded, clean[, medium, ...]); small images upscaled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import InvalidValueError

__all__ = ["PairedAugment", "paired_random_crop", "paired_random_flip", "upscale_to_cover"]


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(0, high, (1,), generator=generator))


def _crop_sizes(size: int | tuple[int, int]) -> tuple[int, int]:
    th, tw = (size, size) if isinstance(size, int) else size
    if th < 1 or tw < 1:
        raise InvalidValueError(f"`size` must be positive, got {size!r}.")
    return th, tw


def _pil_bicubic(image: Tensor, height: int, width: int) -> Tensor:
    """Resize one ``C×H×W`` image with Pillow's bicubic filter on its 8-bit values."""
    array = (image.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    channels = [array] if array.shape[2] == 3 else [array[..., c] for c in range(array.shape[2])]
    resized = [np.asarray(Image.fromarray(np.ascontiguousarray(a)).resize((width, height), Image.Resampling.BICUBIC))
               for a in channels]
    out = resized[0] if len(resized) == 1 else np.stack(resized, axis=-1)
    return torch.from_numpy(out.copy()).permute(2, 0, 1).to(image.dtype).div_(255).to(image.device)


def upscale_to_cover(images: Sequence[Tensor], size: int | tuple[int, int]) -> list[Tensor]:
    """Upscale images smaller than the crop so that the crop fits, as the authors' datasets do.

    When an image is shorter or narrower than the crop ``(th, tw)``, every image is resized
    by ``s = max(th / H, tw / W)`` to ``(max(th, round(H·s)), max(tw, round(W·s)))`` with
    Pillow's bicubic filter on 8-bit values; for a square crop that is the authors' rule
    (short side = crop, aspect kept) ``[paper: authors src/perceiveIR/data.py, _paired_crop]``.
    Images large enough are returned unchanged. Our images are read from 8-bit files, so
    going through Pillow's 8-bit resize reproduces the authors' pixels exactly (a float image
    is rounded to 8 bits first). torch's bicubic is not used because it differs from Pillow's:
    ``interpolate(mode="bicubic")`` uses the kernel ``a = -0.75`` (Pillow ``-0.5``), and even
    with ``antialias=True`` (``a = -0.5``) it keeps the horizontal pass in float where Pillow
    rounds and clips it to 8 bits. Measured by ``benchmarks/measure_upscale.py`` (photographs shrunk
    to 37×53 … 100×75 and upscaled to short side 128): torch differs from Pillow by 1.07 grey
    levels on average (max 24), with ``antialias=True`` by 0.30 (max 16); this function by 0.

    Args:
        images: ``C×H×W`` images of one size.
        size: The crop side or ``(th, tw)``.

    Returns:
        The images, upscaled when needed (same dtype and device).

    Raises:
        ValueError: the images differ in size.

    Example:
        >>> import torch
        >>> [tuple(x.shape) for x in upscale_to_cover([torch.rand(3, 40, 60)], 128)]
        [(3, 128, 192)]
    """
    th, tw = _crop_sizes(size)
    h, w = images[0].shape[-2:]
    for i, img in enumerate(images):
        if img.shape[-2:] != (h, w):
            raise InvalidValueError(f"images[{i}] is {tuple(img.shape[-2:])}, images[0] is {(h, w)}: sizes must match.")
    if h >= th and w >= tw:
        return list(images)
    scale = max(th / h, tw / w)
    height, width = max(th, round(h * scale)), max(tw, round(w * scale))
    return [_pil_bicubic(img, height, width) for img in images]


def paired_random_crop(
    images: Sequence[Tensor], size: int | tuple[int, int], generator: torch.Generator | None = None
) -> list[Tensor]:
    """Crop the same random window from every ``C×H×W`` image of ``images``.

    (:func:`upscale_to_cover` first, for images that may be smaller than the crop.)

    Raises:
        ValueError: the images differ in size, or are smaller than the crop.

    Example:
        >>> import torch
        >>> a = torch.arange(64.).view(1, 8, 8); b = a.clone()
        >>> ca, cb = paired_random_crop([a, b], 4, torch.Generator().manual_seed(0))
        >>> bool(torch.equal(ca, cb)), tuple(ca.shape)
        (True, (1, 4, 4))
    """
    th, tw = _crop_sizes(size)
    h, w = images[0].shape[-2:]
    for i, img in enumerate(images):
        if img.shape[-2:] != (h, w):
            raise InvalidValueError(f"images[{i}] is {tuple(img.shape[-2:])}, images[0] is {(h, w)}: sizes must match.")
    if h < th or w < tw:
        raise InvalidValueError(f"Cannot crop {th}×{tw} from an image of {h}×{w}: lower `crop` or use larger images.")
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
        upscale_small: Upscale images smaller than the crop (:func:`upscale_to_cover`, the
            authors' behaviour) instead of raising.

    Example:
        >>> import torch
        >>> aug = PairedAugment(crop=16, hflip=True)
        >>> lq, gt = aug([torch.rand(3, 32, 32), torch.rand(3, 32, 32)], torch.Generator().manual_seed(0))
        >>> tuple(lq.shape)
        (3, 16, 16)
    """

    def __init__(
        self,
        crop: int | tuple[int, int] | None = None,
        *,
        hflip: bool = True,
        vflip: bool = False,
        rot90: bool = False,
        upscale_small: bool = True,
    ) -> None:
        if crop is not None:
            sizes = (crop, crop) if isinstance(crop, int) else tuple(crop)
            if len(sizes) != 2 or not all(isinstance(s, int) and s > 0 for s in sizes):
                raise InvalidValueError(f"`crop` must be a positive int, a (h, w) pair, or None; got {crop!r}.")
        self.crop = crop
        self.hflip, self.vflip, self.rot90 = bool(hflip), bool(vflip), bool(rot90)
        self.upscale_small = bool(upscale_small)

    def cover(self, images: Sequence[Tensor]) -> list[Tensor]:
        """The images upscaled to fit the crop when they are smaller and ``upscale_small`` is on; else as given."""
        if self.crop is None or not self.upscale_small:
            return list(images)
        return upscale_to_cover(images, self.crop)

    def __call__(self, images: Sequence[Tensor], generator: torch.Generator | None = None) -> list[Tensor]:
        """Crop and flip all of ``images`` identically, so that they stay aligned (random draws from ``generator``)."""
        out = self.cover(images)
        if self.crop is not None:
            out = paired_random_crop(out, self.crop, generator)
        return paired_random_flip(out, generator, hflip=self.hflip, vflip=self.vflip, rot90=self.rot90)

    def __repr__(self) -> str:
        return (f"PairedAugment(crop={self.crop!r}, hflip={self.hflip}, vflip={self.vflip}, rot90={self.rot90}, "
                f"upscale_small={self.upscale_small})")
