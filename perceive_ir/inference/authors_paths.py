"""The Perceive-IR authors' two inference paths, for results comparable with theirs.

* :func:`restore_direct` — ``evaluate_stage2_adair.restore_direct`` (the published protocols
  ``adair3`` / ``adair5``): the whole image, replicate-padded on the right and bottom to a
  multiple of 8, the network (and so its guidance) run on the *padded* image, cropped back.
* :func:`restore_per_tile` — ``evaluate_stage2.restore_tiled`` (their tiled evaluator): tiles
  of ``tile`` px every ``tile - overlap`` px (the last one flush with the border), each
  reflect-padded on its own to the multiple, restored with guidance computed *on that tile*,
  cropped and clamped to ``[0, 1]``, and the overlaps averaged uniformly.

Both take the function that runs the network on a padded batch; :func:`~perceive_ir.inference.restore`
selects them with ``mode="authors-direct"`` / ``mode="authors-tiled"``. The authors' tiled
evaluator ran under bfloat16 autocast on CUDA; these run in the caller's precision.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._padding import pad_to_multiple
from .._validation import check_int
from ..errors import InvalidValueError

__all__ = ["restore_direct", "restore_per_tile", "tile_starts"]


def _check_same_size(out: Tensor, padded: Tensor) -> Tensor:
    if not isinstance(out, Tensor) or out.shape[0] != padded.shape[0] or out.shape[-2:] != padded.shape[-2:]:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise InvalidValueError(
            f"the authors' evaluators compare images of the input's size: input {tuple(padded.shape)}, output "
            f"{shape} (a super-resolution network does not fit them; use mode='whole')."
        )
    return out


def restore_direct(fn: Callable[[Tensor], Tensor], image: Tensor, multiple: int = 8) -> Tensor:
    """The authors' direct path: replicate-pad right/bottom to ``multiple``, run ``fn``, crop back.

    Args:
        fn: Maps a padded ``(B, 3, h, w)`` batch to the restored batch of the same size.
        image: ``(B, 3, H, W)`` float batch.
        multiple: Pad H and W up to multiples of this (the authors: 8).

    Returns:
        ``(B, 3, H, W)``, not clamped (the protocol clamps before its metrics).

    Example:
        >>> x = torch.rand(1, 3, 13, 20)
        >>> seen = []
        >>> out = restore_direct(lambda t: seen.append(t.shape) or t, x)
        >>> seen[0][-2:], torch.equal(out, x)
        (torch.Size([16, 24]), True)
    """
    check_int(multiple, "multiple")
    height, width = image.shape[-2:]
    padded, _ = pad_to_multiple(image, multiple, mode="replicate")
    return _check_same_size(fn(padded), padded)[..., :height, :width]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where the authors' tiles start along one axis: every ``tile - overlap`` px, the last flush with the end.

    Example:
        >>> tile_starts(600, 256, 32), tile_starts(100, 256, 32)
        ([0, 224, 344], [0])
    """
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, tile - overlap))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def restore_per_tile(
    fn: Callable[[Tensor], Tensor],
    image: Tensor,
    *,
    tile: int,
    overlap: int,
    multiple: int = 8,
    progress: bool = False,
    clamp_tiles: bool = True,
) -> Tensor:
    """The authors' tiled evaluator: per-tile padding and guidance, clamped tiles, uniform average.

    With ``clamp_tiles=False`` it is their stage-1 renderer (``render_stage1_medium``), which
    averages the tiles as they come.

    Args:
        fn: Maps a padded ``(B, 3, h, w)`` tile to its restoration (for a guided network: its
            guidance computed on that tile).
        image: ``(B, 3, H, W)`` float batch.
        tile: Tile side in pixels (the authors' default 256; any value, each tile is padded).
        overlap: Overlap in pixels, ``0 <= overlap < tile`` (the authors' default 32).
        multiple: Each tile is reflect-padded (replicate where it is too small to reflect) on the
            right and bottom to multiples of this (the authors: 8).
        progress: A tqdm bar over the tiles.
        clamp_tiles: Clamp each tile to ``[0, 1]`` before averaging (their evaluator does, their
            stage-1 renderer does not).

    Returns:
        ``(B, 3, H, W)``, in ``[0, 1]`` when the tiles are clamped.

    Example:
        >>> x = torch.rand(1, 3, 40, 70)
        >>> torch.allclose(restore_per_tile(lambda t: t, x, tile=32, overlap=8), x)
        True
    """
    check_int(tile, "tile")
    check_int(multiple, "multiple")
    if not isinstance(overlap, int) or not 0 <= overlap < tile:
        raise InvalidValueError(f"`overlap` must be an int in [0, tile={tile}), got {overlap!r}.")
    height, width = image.shape[-2:]
    total = torch.zeros_like(image)
    count = torch.zeros((1, 1, height, width), dtype=image.dtype, device=image.device)
    boxes = [(top, left) for top in tile_starts(height, tile, overlap) for left in tile_starts(width, tile, overlap)]
    if progress:
        from tqdm.auto import tqdm

        boxes = tqdm(boxes, desc="tiles", leave=False)
    for top, left in boxes:
        patch = image[..., top : top + tile, left : left + tile]
        h, w = patch.shape[-2:]
        padded, _ = pad_to_multiple(patch, multiple)
        out = _check_same_size(fn(padded), padded)[..., :h, :w].to(image.dtype)
        if clamp_tiles:
            out = out.clamp(0, 1)
        total[..., top : top + h, left : left + w] += out
        count[..., top : top + h, left : left + w] += 1
    return total / count.clamp_min(1)
