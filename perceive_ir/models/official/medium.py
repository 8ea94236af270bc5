"""``MediumRestorer``: the authors' stage-1 medium-tier restorer (their ``RestormerMedium``).

A plain four-level Restormer U-Net with a global residual, trained with L1 on one fold of
the scenes (2-fold cross-fitting) to render the medium tier of the other fold. It serves as
the medium tier of stage-1 triplets and as a hard-negative proxy of the difficulty-adaptive
perceptual loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from ...errors import InvalidValueError
from ...hub import HubMixin
from .unet import AUTHORS_BLOCKS, AUTHORS_DIM, AUTHORS_HEADS, AUTHORS_REFINEMENT_BLOCKS, RestormerUNet

__all__ = ["MediumRestorer"]


class MediumRestorer(RestormerUNet, HubMixin):
    """The authors' medium restorer; their checkpoints load with :func:`perceive_ir.models.load_official`.

    Args:
        dim: Channels of the first level (the authors: 48).
        blocks: Blocks per level (the authors: 4, 6, 6, 8).
        heads: Attention heads per level (the authors: 1, 2, 4, 8).
        refinement_blocks: Blocks after the decoder (the authors: 4).
        heldout_fold: The fold of scenes it was *not* trained on (0 or 1), the ones it may
            render; ``None`` when unknown.

    Example:
        >>> import torch
        >>> net = MediumRestorer(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1)
        >>> net(torch.rand(2, 3, 20, 36)).shape
        torch.Size([2, 3, 20, 36])
    """

    def __init__(
        self,
        dim: int = AUTHORS_DIM,
        blocks: Sequence[int] = AUTHORS_BLOCKS,
        heads: Sequence[int] = AUTHORS_HEADS,
        refinement_blocks: int = AUTHORS_REFINEMENT_BLOCKS,
        heldout_fold: int | None = None,
    ) -> None:
        super().__init__(dim, blocks, heads, refinement_blocks)
        if heldout_fold not in (None, 0, 1):
            raise InvalidValueError(f"`heldout_fold` must be 0, 1 or None, got {heldout_fold!r}.")
        self.heldout_fold = heldout_fold
        self.latent = self.plain_stage(3, blocks[3])
        self.decoder3 = self.plain_stage(2, blocks[2])
        self.decoder2 = self.plain_stage(1, blocks[1])
        self.decoder1 = self.plain_stage(0, blocks[0])

    def forward(self, image: Tensor) -> Tensor:
        """Restore ``(B, 3, H, W)`` images in ``[0, 1]`` (at least 8×8; padded to multiples of 8 inside).

        Any floating-point input is computed in the network's dtype and returned in its own.
        """
        return self.restore_with(image, self._decode)

    def _decode(self, latent_in: Tensor, skips: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        enc1, enc2, enc3 = skips
        decoded = self.latent(latent_in)
        decoded = self.decoder3(self.merge(self.up3, self.reduce3, decoded, enc3))
        decoded = self.decoder2(self.merge(self.up2, self.reduce2, decoded, enc2))
        return self.decoder1(self.merge(self.up1, self.reduce1, decoded, enc1))

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (for ``save_pretrained``)."""
        return {
            "dim": self.dim,
            "blocks": list(self.blocks),
            "heads": list(self.heads),
            "refinement_blocks": self.refinement_blocks,
            "heldout_fold": self.heldout_fold,
        }
