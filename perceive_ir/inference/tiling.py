"""Tiled inference: apply an image-to-image function to large images tile by tile.

Restoration networks run out of memory on large images. :func:`tiled_apply` cuts the
image into overlapping tiles, runs the function on each, and blends the tiles back with
smooth weights (a raised-cosine ramp across the middle of each overlap), so no seams show. Images
smaller than a tile are padded (reflect where possible) and cropped back, and every tile
is padded to a multiple of ``multiple`` for networks that downsample.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import check_int

__all__ = ["tiled_apply", "pad_to_multiple"]


def pad_to_multiple(image: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad ``B×C×H×W`` on the bottom/right so H and W are multiples of ``multiple``.

    Reflect padding where the image is large enough, replicate otherwise.

    Returns:
        The padded image and the original ``(H, W)`` to crop back to.

    Example:
        >>> import torch
        >>> padded, (h, w) = pad_to_multiple(torch.rand(1, 3, 30, 17), 8)
        >>> tuple(padded.shape), (h, w)
        ((1, 3, 32, 24), (30, 17))
    """
    check_int(multiple, "multiple")
    h, w = image.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        image = F.pad(image, (0, pw, 0, ph), mode=mode)
    return image, (h, w)


def _starts(size: int, tile: int, stride: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool, device: torch.device) -> Tensor:
    """1-D blending weights: 1 inside, a smooth rise across ``overlap`` pixels at inner edges.

    The outer quarter of the overlap (where a tile's own border effects live) gets a tiny
    weight, the middle half rises along a raised cosine; every weight stays positive.
    """
    w = torch.ones(length, dtype=torch.float32, device=device)
    n = min(overlap, length // 2)
    if n > 0:
        dead = n // 4
        span = n - 2 * dead
        i = torch.arange(n, dtype=torch.float32, device=device)
        t = ((i - dead + 0.5) / max(span, 1)).clamp(0.0, 1.0)
        rise = (0.5 - 0.5 * torch.cos(math.pi * t)).clamp_min(1e-4)
        if not at_start:
            w[:n] = rise
        if not at_end:
            w[length - n :] = rise.flip(0)
    return w


def tiled_apply(
    fn: Callable[[Tensor], Tensor],
    image: Tensor,
    *,
    tile: int = 512,
    overlap: int = 32,
    multiple: int = 1,
    progress: bool = False,
) -> Tensor:
    """Apply ``fn`` to ``image`` in overlapping tiles and blend the results.

    ``fn`` must map ``B×C×h×w`` to ``B×C'×h×w`` (same spatial size; any channel count).
    The output equals ``fn(image)`` up to float rounding (the blend weights sum to one) for
    pointwise functions, and closely for local ones whose receptive field is smaller than
    the overlap. Wrap the call in ``torch.no_grad()`` for inference.

    Args:
        fn: The function or ``nn.Module`` to apply.
        image: ``B×C×H×W`` floating-point tensor of any size (smaller than a tile is fine).
        tile: Tile side in pixels; must be a multiple of ``multiple``.
        overlap: Overlap between neighbouring tiles in pixels (``0 <= overlap < tile``).
        multiple: Every tile given to ``fn`` has H and W divisible by this (e.g. 8 for
            a U-Net with three downsamplings); padding is cropped back.
        progress: Show a tqdm progress bar over tiles.

    Returns:
        ``B×C'×H×W`` tensor on ``image``'s device.

    Raises:
        TypeError: ``image`` is not a 4-D floating-point tensor or ``fn`` is not callable.
        ValueError: bad ``tile``/``overlap``/``multiple``, or ``fn`` changed the spatial size.

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 100, 70)
        >>> y = tiled_apply(lambda t: t * 2, x, tile=32, overlap=8)
        >>> torch.allclose(y, x * 2)
        True
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {type(fn).__name__}.")
    if not isinstance(image, Tensor) or image.ndim != 4:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise TypeError(f"`image` must be a B×C×H×W tensor, got {shape}.")
    if not image.is_floating_point():  # the tiles are blended with float weights
        raise TypeError(f"`image` must be a floating-point tensor, got dtype {image.dtype}; "
                        "convert 8-bit images with `image.float() / 255`.")
    check_int(multiple, "multiple")
    check_int(tile, "tile")
    if tile % multiple:
        raise ValueError(f"`tile` must be a positive int divisible by multiple={multiple}, got {tile!r}.")
    if not isinstance(overlap, int) or not 0 <= overlap < tile:
        raise ValueError(f"`overlap` must be an int in [0, tile={tile}), got {overlap!r}.")

    h, w = image.shape[-2:]
    if h <= tile and w <= tile:
        padded, _ = pad_to_multiple(image, multiple)
        out = fn(padded)
        _check_out(out, padded)
        return out[..., :h, :w]

    # pad the whole image so every tile is a full tile of a legal size
    th, tw = min(tile, math.ceil(h / multiple) * multiple), min(tile, math.ceil(w / multiple) * multiple)
    padded, _ = pad_to_multiple(image, multiple)
    ph, pw = padded.shape[-2:]
    stride_h, stride_w = max(th - overlap, 1), max(tw - overlap, 1)
    ys, xs = _starts(ph, th, stride_h), _starts(pw, tw, stride_w)
    boxes = [(y, x) for y in ys for x in xs]

    # every tile's weight is wy ⊗ wx and tiles lie on a grid, so the summed weight map is
    # separable: two 1-D sums instead of an image-sized map
    weight_y = torch.zeros(ph, dtype=torch.float32, device=image.device)
    weight_x = torch.zeros(pw, dtype=torch.float32, device=image.device)
    ramps_y = {y: _ramp(th, overlap, y == 0, y + th >= ph, image.device) for y in ys}
    ramps_x = {x: _ramp(tw, overlap, x == 0, x + tw >= pw, image.device) for x in xs}
    for y, ramp in ramps_y.items():
        weight_y[y : y + th] += ramp
    for x, ramp in ramps_x.items():
        weight_x[x : x + tw] += ramp

    acc: Tensor | None = None
    iterator = boxes
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(boxes, desc="tiles", leave=False)
    for y, x in iterator:
        patch = padded[..., y : y + th, x : x + tw]
        out = fn(patch)
        _check_out(out, patch)
        if acc is None:
            acc = torch.zeros(out.shape[0], out.shape[1], ph, pw, dtype=out.dtype, device=image.device)
        wt = (ramps_y[y][:, None] * ramps_x[x][None, :]).to(out.dtype)
        acc[..., y : y + th, x : x + tw].addcmul_(out.to(image.device), wt)
    assert acc is not None
    acc.div_(weight_y.to(acc.dtype)[:, None]).div_(weight_x.to(acc.dtype))  # in place: no second image
    return acc[..., :h, :w]


def _check_out(out: object, patch: Tensor) -> None:
    if not isinstance(out, Tensor) or out.ndim != 4:
        raise TypeError(f"`fn` must return a B×C×H×W tensor, got {getattr(out, 'shape', type(out).__name__)}.")
    if out.shape[-2:] != patch.shape[-2:] or out.shape[0] != patch.shape[0]:
        raise ValueError(
            f"`fn` must keep the batch and spatial size: input {tuple(patch.shape)}, output {tuple(out.shape)}."
        )
