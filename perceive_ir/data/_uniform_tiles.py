"""Tiled rendering as the authors' ``render_stage1_medium.tiled_forward``: per-tile padding, uniform average.

Kept apart from :func:`perceive_ir.inference.tiling.tiled_apply` (raised-cosine blending of a
padded image) because the stage-1 medium images reproduce the authors' renderer: tiles of
``tile`` pixels cut from the unpadded image every ``tile - overlap`` pixels (plus one flush with
the far edge), each padded on the bottom/right to a multiple of ``multiple`` (reflect), run,
cropped back, and the overlaps averaged with equal weights. An image no larger than one tile
runs whole.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..inference.tiling import pad_to_multiple

__all__ = ["uniform_tiled_apply"]


def _starts(size: int, tile: int, stride: int) -> list[int]:
    last = max(size - tile, 0)
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return starts


def uniform_tiled_apply(fn: Callable[[Tensor], Tensor], image: Tensor, *, tile: int, overlap: int,
                        multiple: int) -> Tensor:
    """Apply ``fn`` to ``B×C×H×W`` ``image`` in tiles, averaging the overlaps uniformly.

    Raises:
        ValueError: ``overlap`` not in ``[0, tile)``.

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 40, 50)
        >>> torch.allclose(uniform_tiled_apply(lambda t: t * 2, x, tile=16, overlap=4, multiple=8), x * 2)
        True
    """
    if not 0 <= overlap < tile:
        raise ValueError(f"`overlap` must be in [0, tile={tile}), got {overlap!r}.")

    def run(part: Tensor) -> Tensor:
        height, width = part.shape[-2:]
        padded, _ = pad_to_multiple(part, multiple)
        return fn(padded)[..., :height, :width]

    height, width = image.shape[-2:]
    if height <= tile and width <= tile:
        return run(image)
    stride = tile - overlap
    output = torch.zeros_like(image)
    weight = torch.zeros_like(image)
    for top in _starts(height, tile, stride):
        for left in _starts(width, tile, stride):
            window = (..., slice(top, top + tile), slice(left, left + tile))
            output[window] += run(image[window])
            weight[window] += 1
    return output / weight.clamp_min(1)
