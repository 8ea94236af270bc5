"""The four-level Restormer U-Net shared by the authors' restorer and their medium restorer.

Both networks have the same encoder (``embed``, ``encoder1..3``, ``down1..3``), the same
upsampling path (``up3..1``, ``reduce3..1``), ``refinement`` and ``output``; they differ in the
latent and decoder stages (plain Restormer blocks for the medium restorer; guided blocks for
the restorer), which each subclass builds.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ..._padding import pad_to_multiple
from ..._validation import check_image, check_int, to_input_dtype, to_module_dtype
from ...errors import InvalidValueError
from .blocks import Downsample, TransformerBlock, Upsample

__all__ = [
    "AUTHORS_BLOCKS",
    "AUTHORS_DIM",
    "AUTHORS_HEADS",
    "AUTHORS_REFINEMENT_BLOCKS",
    "LEVELS",
    "RestormerUNet",
    "check_architecture",
    "pad_reflect",
]

#: Levels of the U-Net (three downsamplings): inputs must be multiples of ``2 ** (LEVELS - 1)``.
LEVELS = 4
#: The authors' released size (their ``model.py`` defaults): first-level channels, blocks and
#: heads per level, refinement blocks.
AUTHORS_DIM = 48
AUTHORS_BLOCKS: tuple[int, int, int, int] = (4, 6, 6, 8)
AUTHORS_HEADS: tuple[int, int, int, int] = (1, 2, 4, 8)
AUTHORS_REFINEMENT_BLOCKS = 4

#: What a subclass decodes with: ``(latent input, (enc1, enc2, enc3)) -> finest decoded map``.
Decoder = Callable[[Tensor, tuple[Tensor, Tensor, Tensor]], Tensor]


def pad_reflect(image: Tensor, multiple: int) -> Tensor:
    """Reflect-pad the bottom and right of ``image`` to multiples of ``multiple`` (as the authors' tiled evaluator).

    Example:
        >>> pad_reflect(torch.rand(1, 3, 30, 41), 8).shape
        torch.Size([1, 3, 32, 48])
    """
    return pad_to_multiple(image, multiple, mode="reflect")[0]


def check_architecture(dim: int, blocks: Sequence[int], heads: Sequence[int], refinement_blocks: int) -> None:
    """Refuse sizes the U-Net cannot be built with, naming the argument.

    Example:
        >>> check_architecture(48, (4, 6, 6, 8), (1, 2, 4, 8), 4)
        >>> check_architecture(48, (4, 6, 6), (1, 2, 4, 8), 4)
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: `blocks` must be 4 positive ints (one per level), got (4, 6, 6).
    """
    check_int(dim, "dim", minimum=2)
    check_int(refinement_blocks, "refinement_blocks", minimum=0)
    for name, values in (("blocks", blocks), ("heads", heads)):
        values = tuple(values)
        if len(values) != LEVELS or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            raise InvalidValueError(f"`{name}` must be {LEVELS} positive ints (one per level), got {values!r}.")
    for level, head in enumerate(heads):
        if (dim * 2**level) % head:
            raise InvalidValueError(f"`heads[{level}]`={head} must divide the level's {dim * 2**level} channels.")


class RestormerUNet(nn.Module):
    """Encoder, skip merges, refinement and output of the authors' four-level U-Net.

    Args:
        dim: Channels of the first level (``dim · 2^l`` at level ``l``; the authors: 48).
        blocks: Transformer blocks per level (the authors: 4, 6, 6, 8).
        heads: Attention heads per level (the authors: 1, 2, 4, 8).
        refinement_blocks: Blocks after the decoder (the authors: 4).
    """

    #: Inputs are padded to a multiple of this (three 2× downsamplings).
    multiple: int = 2 ** (LEVELS - 1)

    @property
    def pad_to(self) -> int:
        """Deprecated name of :attr:`multiple` (warns; removed in the next release)."""
        warnings.warn(
            f"{type(self).__name__}.pad_to is deprecated; use {type(self).__name__}.multiple.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.multiple

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

    def restore_with(self, image: Tensor, decode: Decoder) -> Tensor:
        """The path both networks share around their own decoder.

        Checks ``image`` (at least 8×8), computes in the network's dtype, reflect-pads to
        multiples of 8, encodes, calls ``decode``, then refinement, output conv and the global
        residual; crops back and returns in ``image``'s dtype (not clamped).
        """
        check_image(image, "image", min_size=self.multiple, check_values=False)  # values: at the edges
        in_dtype = image.dtype
        height, width = image.shape[-2:]
        x = pad_reflect(to_module_dtype(image, self), self.multiple)
        enc1, enc2, enc3, latent_in = self.encode(x)
        restored = self.output(self.refinement(decode(latent_in, (enc1, enc2, enc3)))) + x
        return to_input_dtype(restored[..., :height, :width], in_dtype)
