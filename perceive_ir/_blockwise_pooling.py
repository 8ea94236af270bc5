"""Globally pooled statistics of a convolution stack, computed block by block in bounded memory.

The degradation encoders (the CFE and AMIRNet's tree encoder) end in a global pool over all
positions, so on a large image their first activations — tens of channels at full or half
resolution — dominate memory. Pooling is a sum, so the same statistics can be computed over
blocks of the last feature map: each block recomputes, through every stage, exactly the input
region its receptive field covers (a halo of a few pixels), with zero padding only at the
true image border. The result equals the whole-image computation up to float summation
order, while working memory depends on the block size only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._validation import check_int
from .errors import InvalidValueError

__all__ = ["Stage", "check_stages", "pooled_moments"]

#: A convolution and the activation that follows it.
Stage = tuple[nn.Conv2d, nn.Module]


def check_stages(stages: Sequence[Stage]) -> None:
    """Raise ``ValueError`` for convolutions the block-wise path cannot reproduce exactly."""
    for conv, _ in stages:
        if (
            conv.padding_mode != "zeros"
            or isinstance(conv.padding, str)
            or tuple(conv.dilation) != (1, 1)
        ):
            raise InvalidValueError(
                f"Block-wise pooling needs zero-padded, undilated convolutions with integer padding; got {conv}."
            )


def _padding(conv: nn.Conv2d) -> tuple[int, int]:
    """``conv``'s integer padding as ``(rows, cols)``; string padding (``"same"``) is refused."""
    padding = conv.padding
    if isinstance(padding, str):  # check_stages refuses these first; narrows the type for the arithmetic
        raise InvalidValueError(f"Block-wise pooling needs integer padding; got padding={padding!r} in {conv}.")
    return padding[0], padding[1]


def _output_size(size: tuple[int, int], conv: nn.Conv2d) -> tuple[int, int]:
    (n_h, n_w), (k_h, k_w), (s_h, s_w), (p_h, p_w) = size, conv.kernel_size, conv.stride, _padding(conv)
    return (n_h + 2 * p_h - k_h) // s_h + 1, (n_w + 2 * p_w - k_w) // s_w + 1


def _region(
    stages: Sequence[Stage],
    sizes: list[tuple[int, int]],
    image: Tensor,
    level: int,
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> Tensor:
    """Activation of stage ``level`` (0: the image) over ``rows × cols``; zero outside the map."""
    (r0, r1), (c0, c1) = rows, cols
    height, width = sizes[level]
    if level == 0:
        part = image[..., max(r0, 0) : min(r1, height), max(c0, 0) : min(c1, width)]
        pad = (max(0, -c0), max(0, c1 - width), max(0, -r0), max(0, r1 - height))
        return F.pad(part, pad) if any(pad) else part
    conv, activation = stages[level - 1]
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, _padding(conv)
    source = _region(
        stages, sizes, image, level - 1,
        (r0 * sh - ph, (r1 - 1) * sh - ph + kh),
        (c0 * sw - pw, (c1 - 1) * sw - pw + kw),
    )
    out = activation(F.conv2d(source, conv.weight, conv.bias, stride=conv.stride, groups=conv.groups))
    # positions outside the map stand for the next convolution's zero padding
    if r0 < 0:
        out[..., : -r0, :] = 0
    if r1 > height:
        out[..., height - r0 :, :] = 0
    if c0 < 0:
        out[..., :, : -c0] = 0
    if c1 > width:
        out[..., :, width - c0 :] = 0
    return out


def pooled_moments(stages: Sequence[Stage], image: Tensor, block: int) -> tuple[Tensor, Tensor]:
    """Per-channel mean and (biased) variance of the last stage's output over all positions.

    Args:
        stages: ``(conv, activation)`` pairs applied in order (zero padding, no dilation).
        image: ``(B, C, H, W)`` input.
        block: Side, in input pixels, of the region each block covers (plus its halo).

    Returns:
        ``(mean, variance)``, each ``(B, C_out)`` in float64 (accumulated in float64).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> stack = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.GELU())
        >>> x = torch.rand(1, 3, 50, 70)
        >>> mean, var = pooled_moments([(stack[0], stack[1])], x, block=16)
        >>> torch.allclose(mean.float(), stack(x).mean(dim=(-2, -1)), atol=1e-6)
        True
    """
    check_int(block, "block")
    check_stages(stages)
    sizes = [(image.shape[-2], image.shape[-1])]
    stride_h = stride_w = 1
    for conv, _ in stages:
        sizes.append(_output_size(sizes[-1], conv))
        stride_h, stride_w = stride_h * conv.stride[0], stride_w * conv.stride[1]
    height, width = sizes[-1]
    cells_h, cells_w = max(1, block // stride_h), max(1, block // stride_w)
    total = total_sq = None
    for r0 in range(0, height, cells_h):
        for c0 in range(0, width, cells_w):
            rows, cols = (r0, min(r0 + cells_h, height)), (c0, min(c0 + cells_w, width))
            features = _region(stages, sizes, image, len(stages), rows, cols)
            part = features.sum(dim=(-2, -1), dtype=torch.float64)
            part_sq = features.square().sum(dim=(-2, -1), dtype=torch.float64)
            total = part if total is None else total + part
            total_sq = part_sq if total_sq is None else total_sq + part_sq
    assert total is not None and total_sq is not None
    count = height * width
    mean = total / count
    return mean, (total_sq / count - mean.square()).clamp_min(0.0)
