"""Tiled inference: apply an image-to-image function to large images tile by tile.

Restoration networks run out of memory on large images. :func:`tiled_apply` cuts the
image into overlapping tiles, runs the function on each, and blends the tiles back with
smooth weights (a raised-cosine ramp across the middle of each overlap), so no seams show. Images
smaller than a tile are padded (reflect where possible) and cropped back, and every tile
is padded to a multiple of ``multiple`` for networks that downsample.

Super-resolution functions work too: a function whose output is ``k`` times its input (an
integer scale, inferred from the first tile or given) is blended and stitched at output
resolution. Besides the output itself, the memory used does not grow with the image: the
blending weights are two 1-D sums.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .._padding import pad_to_multiple
from .._validation import check_int
from ..errors import InvalidTypeError, InvalidValueError
from .tiling_spec import check_overlap, check_tile_multiple

__all__ = ["count_tiles", "pad_to_multiple", "tiled_apply"]


def _starts(size: int, tile: int, stride: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def _check_tiling(tile: int, overlap: int, multiple: int) -> None:
    """The rules of :mod:`perceive_ir.inference.tiling_spec`, for callers that pass loose values."""
    check_int(multiple, "multiple")
    check_int(tile, "tile")
    check_tile_multiple(tile, multiple)
    check_overlap(overlap, tile)


def _grid(size: int, tile: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """One axis of the tiling: the tile's side on it and where the tiles start (padded coordinates)."""
    side = min(tile, math.ceil(size / multiple) * multiple)
    padded = math.ceil(size / multiple) * multiple
    return side, _starts(padded, side, max(side - overlap, 1))


def count_tiles(height: int, width: int, *, tile: int, overlap: int = 32, multiple: int = 1) -> int:
    """How many tiles :func:`tiled_apply` runs on a ``height × width`` image (1: the whole image at once).

    Args:
        height: Image height in pixels.
        width: Image width in pixels.
        tile: Tile side, a multiple of ``multiple``.
        overlap: Overlap between tiles, in ``[0, tile)``.
        multiple: The size multiple the function needs.

    Returns:
        The number of tiles.

    Raises:
        ValueError: a size, ``tile``, ``overlap`` or ``multiple`` out of range.

    Example:
        >>> count_tiles(100, 70, tile=32, overlap=8)
        12
        >>> count_tiles(30, 30, tile=64)
        1
    """
    check_int(height, "height")
    check_int(width, "width")
    _check_tiling(tile, overlap, multiple)
    if height <= tile and width <= tile:
        return 1
    return len(_grid(height, tile, overlap, multiple)[1]) * len(_grid(width, tile, overlap, multiple)[1])


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
    scale: int | None = None,
) -> Tensor:
    """Apply ``fn`` to ``image`` in overlapping tiles and blend the results.

    ``fn`` must map ``B×C×h×w`` to ``B×C'×kh×kw`` for one integer scale ``k`` (1 for
    restoration, 2 or 4 for super-resolution; any channel count). Tiles are cut from the input
    and blended at output resolution (tile ``k·tile``, overlap ``k·overlap``). The output
    equals ``fn(image)`` up to float rounding (the blend weights sum to one) for pointwise
    functions, and closely for local ones whose receptive field is smaller than the overlap.
    Wrap the call in ``torch.no_grad()`` for inference.

    Args:
        fn: The function or ``nn.Module`` to apply.
        image: ``B×C×H×W`` floating-point tensor of any size (smaller than a tile is fine).
        tile: Tile side in pixels; must be a multiple of ``multiple``.
        overlap: Overlap between neighbouring tiles in pixels (``0 <= overlap < tile``).
        multiple: Every tile given to ``fn`` has H and W divisible by this (e.g. 8 for
            a U-Net with three downsamplings); padding is cropped back.
        progress: Show a tqdm progress bar over tiles.
        scale: The integer factor ``fn`` enlarges by; ``None``: inferred from the first tile
            (every other tile must agree).

    Returns:
        ``B×C'×kH×kW`` tensor on ``image``'s device.

    Raises:
        TypeError: ``image`` is not a 4-D floating-point tensor or ``fn`` is not callable.
        ValueError: bad ``tile``/``overlap``/``multiple``/``scale``, or ``fn`` changed the batch
            size or did not scale the spatial size by one integer factor (``scale`` when given).

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 100, 70)
        >>> y = tiled_apply(lambda t: t * 2, x, tile=32, overlap=8)
        >>> torch.allclose(y, x * 2)
        True
        >>> up = lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest")
        >>> tiled_apply(up, x, tile=32, overlap=8).shape  # super-resolution: stitched at 2x
        torch.Size([1, 3, 200, 140])
    """
    if not callable(fn):
        raise InvalidTypeError(f"`fn` must be callable, got {type(fn).__name__}.")
    if not isinstance(image, Tensor) or image.ndim != 4:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise InvalidTypeError(f"`image` must be a B×C×H×W tensor, got {shape}.")
    if not image.is_floating_point():  # the tiles are blended with float weights
        raise InvalidTypeError(f"`image` must be a floating-point tensor, got dtype {image.dtype}; "
                               "convert 8-bit images with `image.float() / 255`.")
    _check_tiling(tile, overlap, multiple)

    check_int(scale, "scale", optional=True)

    h, w = image.shape[-2:]
    if h <= tile and w <= tile:
        padded, _ = pad_to_multiple(image, multiple)
        out = fn(padded)
        k = _check_out(out, padded, scale)
        return out[..., : k * h, : k * w]

    # pad the whole image so every tile is a full tile of a legal size
    padded, _ = pad_to_multiple(image, multiple)
    ph, pw = padded.shape[-2:]
    (th, ys), (tw, xs) = _grid(h, tile, overlap, multiple), _grid(w, tile, overlap, multiple)
    boxes = [(y, x) for y in ys for x in xs]

    acc: Tensor | None = None
    iterator = boxes
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(boxes, desc="tiles", leave=False)
    for y, x in iterator:
        patch = padded[..., y : y + th, x : x + tw]
        out = fn(patch)
        scale = _check_out(out, patch, scale)
        if acc is None:  # the first tile tells the scale: everything below is at output resolution
            acc = torch.zeros(out.shape[0], out.shape[1], scale * ph, scale * pw, dtype=out.dtype, device=image.device)
            # every tile's weight is wy ⊗ wx and tiles lie on a grid, so the summed weight map is
            # separable: two 1-D sums instead of an image-sized map
            ramps_y, weight_y = _weights(ys, scale * th, scale * overlap, scale * ph, scale, image.device)
            ramps_x, weight_x = _weights(xs, scale * tw, scale * overlap, scale * pw, scale, image.device)
        wt = (ramps_y[y][:, None] * ramps_x[x][None, :]).to(out.dtype)
        oy, ox = scale * y, scale * x
        acc[..., oy : oy + scale * th, ox : ox + scale * tw].addcmul_(out.to(image.device), wt)
    assert acc is not None and scale is not None
    acc.div_(weight_y.to(acc.dtype)[:, None]).div_(weight_x.to(acc.dtype))  # in place: no second image
    return acc[..., : scale * h, : scale * w]


def _weights(
    starts: list[int], length: int, overlap: int, total: int, scale: int, device: torch.device
) -> tuple[dict[int, Tensor], Tensor]:
    """Per-start 1-D ramps of output ``length`` and their sum over the output axis of ``total``."""
    ramps = {s: _ramp(length, overlap, s == 0, scale * s + length >= total, device) for s in starts}
    weight = torch.zeros(total, dtype=torch.float32, device=device)
    for s, ramp in ramps.items():
        weight[scale * s : scale * s + length] += ramp
    return ramps, weight


def _check_out(out: object, patch: Tensor, scale: int | None) -> int:
    """The integer scale of ``out`` over ``patch`` (checked against ``scale`` when given)."""
    if not isinstance(out, Tensor) or out.ndim != 4:
        raise InvalidTypeError(f"`fn` must return a B×C×H×W tensor, got {getattr(out, 'shape', type(out).__name__)}.")
    (h, w), (oh, ow) = patch.shape[-2:], out.shape[-2:]
    k = oh // h
    if out.shape[0] != patch.shape[0] or k < 1 or oh != k * h or ow != k * w:
        raise InvalidValueError(
            f"`fn` must keep the batch size and scale the spatial size by one integer factor: input "
            f"{tuple(patch.shape)}, output {tuple(out.shape)}."
        )
    if scale is not None and k != scale:
        raise InvalidValueError(f"`fn` scaled a tile by {k}, expected `scale`={scale}: input {tuple(patch.shape)}, "
                                f"output {tuple(out.shape)}.")
    return k
