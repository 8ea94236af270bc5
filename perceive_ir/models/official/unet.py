"""The four-level Restormer U-Net shared by the authors' restorer and their medium restorer.

Both networks have the same encoder (``embed``, ``encoder1..3``, ``down1..3``), the same
upsampling path (``up3..1``, ``reduce3..1``), ``refinement`` and ``output``; they differ in the
latent and decoder stages (plain Restormer blocks for the medium restorer; guided blocks for
the restorer), which each subclass builds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..._validation import check_int
from .blocks import Downsample, TransformerBlock, Upsample

__all__ = ["LEVELS", "RestormerUNet", "check_architecture"]

#: Levels of the U-Net (three downsamplings): inputs must be multiples of ``2 ** (LEVELS - 1)``.
LEVELS = 4


def check_architecture(dim: int, blocks: Sequence[int], heads: Sequence[int], refinement_blocks: int) -> None:
    """Refuse sizes the U-Net cannot be built with, naming the argument.

    Example:
        >>> check_architecture(48, (4, 6, 6, 8), (1, 2, 4, 8), 4)
        >>> check_architecture(48, (4, 6, 6), (1, 2, 4, 8), 4)
        Traceback (most recent call last):
        ...
        ValueError: `blocks` must be 4 positive ints (one per level), got (4, 6, 6).
    """
    check_int(dim, "dim", minimum=2)
    check_int(refinement_blocks, "refinement_blocks", minimum=0)
    for name, values in (("blocks", blocks), ("heads", heads)):
        values = tuple(values)
        if len(values) != LEVELS or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            raise ValueError(f"`{name}` must be {LEVELS} positive ints (one per level), got {values!r}.")
    for level, head in enumerate(heads):
        if (dim * 2**level) % head:
            raise ValueError(f"`heads[{level}]`={head} must divide the level's {dim * 2**level} channels.")


class RestormerUNet(nn.Module):
    """Encoder, skip merges, refinement and output of the authors' four-level U-Net.

    Args:
        dim: Channels of the first level (``dim · 2^l`` at level ``l``; the authors: 48).
        blocks: Transformer blocks per level (the authors: 4, 6, 6, 8).
        heads: Attention heads per level (the authors: 1, 2, 4, 8).
        refinement_blocks: Blocks after the decoder (the authors: 4).
    """

    #: Inputs are padded to a multiple of this (three 2× downsamplings).
    pad_to: int = 2 ** (LEVELS - 1)

    def __init__(self, dim: int, blocks: Sequence[int], heads: Sequence[int], refinement_blocks: int) -> None:
        super().__init__()
        check_architecture(dim, blocks, heads, refinement_blocks)
        self.dim, self.blocks, self.heads = dim, tuple(blocks), tuple(heads)
        self.refinement_blocks = refinement_blocks
        channels = self.channels
        self.embed = nn.Conv2d(3, channels[0], 3, padding=1)
        self.encoder1 = self.plain_stage(0, blocks[0])
        self.down1 = Downsample(channels[0])
        self.encoder2 = self.plain_stage(1, blocks[1])
        self.down2 = Downsample(channels[1])
        self.encoder3 = self.plain_stage(2, blocks[2])
        self.down3 = Downsample(channels[2])
        self.up3 = Upsample(channels[3])
        self.reduce3 = nn.Conv2d(channels[2] * 2, channels[2], 1)
        self.up2 = Upsample(channels[2])
        self.reduce2 = nn.Conv2d(channels[1] * 2, channels[1], 1)
        self.up1 = Upsample(channels[1])
        self.reduce1 = nn.Conv2d(channels[0] * 2, channels[0], 1)
        self.refinement = self.plain_stage(0, refinement_blocks)
        self.output = nn.Conv2d(channels[0], 3, 3, padding=1)

    @property
    def channels(self) -> tuple[int, ...]:
        """Channels of each level, finest first."""
        return tuple(self.dim * 2**level for level in range(LEVELS))

    def plain_stage(self, level: int, depth: int) -> nn.Sequential:
        """``depth`` Restormer blocks at ``level``."""
        return nn.Sequential(*(TransformerBlock(self.channels[level], self.heads[level]) for _ in range(depth)))

    def encode(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The three encoder levels' outputs and the latent's input."""
        enc1 = self.encoder1(self.embed(image))
        enc2 = self.encoder2(self.down1(enc1))
        enc3 = self.encoder3(self.down2(enc2))
        return enc1, enc2, enc3, self.down3(enc3)

    @staticmethod
    def merge(up: nn.Module, reduce: nn.Module, coarse: Tensor, skip: Tensor) -> Tensor:
        """Upsample the coarser level, concatenate the skip connection, reduce the channels."""
        return reduce(torch.cat((up(coarse), skip), dim=1))

    def finish(self, decoded: Tensor, image: Tensor) -> Tensor:
        """Refinement, output conv and the global residual (not clamped)."""
        return self.output(self.refinement(decoded)) + image
