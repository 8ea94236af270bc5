"""``PerceiveIRNet``: the Perceive-IR authors' stage-2 restorer, loadable from their checkpoints.

A Restormer U-Net whose latent and decoder levels are guided: at each of them, prompt
guidance (FiLM from the DINOv2 CLS token of one layer and the CFE degradation embedding)
modulates the level's input, and every block of the level runs prompt-guided cross
attention against it (:class:`~perceive_ir.models.official.blocks.GuidedTransformerBlock`).
The output adds a global residual. Parameter names follow the authors' state dicts.

The guidance — the CFE embedding and the four DINOv2 CLS tokens — depends on the whole
image only, so :meth:`PerceiveIRNet.compute_guidance` computes it once and
:meth:`PerceiveIRNet.forward_with_guidance` reuses it, e.g. for every tile of a large image
(:func:`perceive_ir.inference.restore` does this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from torch import Tensor, nn

from ..._defaults import DEFAULT_SEMANTIC_ENCODER
from ..._validation import check_image, to_module_dtype
from ...errors import InvalidValueError
from ...hub import HubMixin
from ...perceive.cfe import CompactFeatureExtractor
from ...perceive.semantic import EncoderSpec
from .blocks import GuidedStage, PromptGuidance
from .semantic import OFFICIAL_SEMANTIC_LAYERS, DinoClsFeatures
from .unet import (
    AUTHORS_BLOCKS,
    AUTHORS_DIM,
    AUTHORS_HEADS,
    AUTHORS_REFINEMENT_BLOCKS,
    LEVELS,
    RestormerUNet,
)

__all__ = ["DEGRADATION_DIM", "PerceiveIRGuidance", "PerceiveIRNet"]

#: Size of the CFE degradation embedding in the authors' network.
DEGRADATION_DIM = 128


class PerceiveIRGuidance(NamedTuple):
    """What guides the restorer, computed on the whole image.

    Attributes:
        semantic: One ``(B, semantic_dim)`` DINOv2 CLS token per level, finest level first.
        degradation: ``(B, 128)`` unit-norm CFE embedding.
    """

    semantic: list[Tensor]
    degradation: Tensor


class PerceiveIRNet(RestormerUNet, HubMixin):
    """The authors' Perceive-IR restorer as a perceive-ir model.

    Load their released checkpoints with :func:`perceive_ir.models.load_official` (or
    convert them once with ``perceive-ir convert-official``); build a fresh one to train
    with the constructor.

    Args:
        dim: Channels of the first level (the authors: 48).
        blocks: Blocks per level (the authors: 4, 6, 6, 8).
        heads: Attention heads per level (the authors: 1, 2, 4, 8).
        refinement_blocks: Blocks after the decoder (the authors: 4).
        semantic_encoder: The frozen DINOv2: a Hub id or local folder (the authors:
            ``"facebook/dinov2-base"``, referenced in saved files, never copied into them), or
            a transformers config / config dict / model (random or in-memory weights, saved
            with the model).
        semantic_encoder_revision: Hub revision of ``semantic_encoder``.
        semantic_layers: DINOv2 hidden states guiding the four levels, finest first.

    Example:
        >>> import torch
        >>> from perceive_ir.testing import tiny_dinov2_config
        >>> net = PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
        ...                     semantic_encoder=tiny_dinov2_config())
        >>> net(torch.rand(1, 3, 30, 44)).shape
        torch.Size([1, 3, 30, 44])
    """

    def __init__(
        self,
        dim: int = AUTHORS_DIM,
        blocks: Sequence[int] = AUTHORS_BLOCKS,
        heads: Sequence[int] = AUTHORS_HEADS,
        refinement_blocks: int = AUTHORS_REFINEMENT_BLOCKS,
        semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
        semantic_encoder_revision: str | None = None,
        semantic_layers: Sequence[int] = OFFICIAL_SEMANTIC_LAYERS,
    ) -> None:
        super().__init__(dim, blocks, heads, refinement_blocks)
        if len(tuple(semantic_layers)) != LEVELS:
            raise InvalidValueError(
                f"`semantic_layers` must name {LEVELS} hidden states, got {tuple(semantic_layers)!r}."
            )
        self.semantic = DinoClsFeatures(
            semantic_encoder, semantic_layers, semantic_encoder_revision=semantic_encoder_revision
        )
        channels = self.channels
        self.cfe = CompactFeatureExtractor(dim=DEGRADATION_DIM)
        self.pgm = nn.ModuleList(PromptGuidance(c, self.semantic.dim, DEGRADATION_DIM) for c in channels)
        self.latent = GuidedStage(channels[3], heads[3], blocks[3])
        self.decoder3 = GuidedStage(channels[2], heads[2], blocks[2])
        self.decoder2 = GuidedStage(channels[1], heads[1], blocks[1])
        self.decoder1 = GuidedStage(channels[0], heads[0], blocks[0])

    def compute_guidance(self, image: Tensor) -> PerceiveIRGuidance:
        """CFE embedding and DINOv2 CLS tokens of whole images ``(B, 3, H, W)`` in ``[0, 1]``."""
        check_image(image, "image", min_size=2, check_values=False)  # values: at the edges (restore, CLI)
        return PerceiveIRGuidance(self.semantic(image), self.cfe(image))

    def forward_with_guidance(self, image: Tensor, guidance: PerceiveIRGuidance) -> Tensor:
        """Restore ``image`` (or a tile of it) with precomputed guidance.

        Args:
            image: ``(B, 3, H, W)``, any size of at least 8×8 (reflect-padded to multiples of
                8 inside, cropped back).
            guidance: From :meth:`compute_guidance` on the whole image(s), same batch.

        Returns:
            ``(B, 3, H, W)`` in ``image``'s dtype (computed in the network's), not clamped (the
            authors' output).
        """
        check_image(image, "image", min_size=self.multiple, check_values=False)  # before the guidance is compared
        semantic = [to_module_dtype(f, self) for f in guidance.semantic]
        degradation = to_module_dtype(guidance.degradation, self)
        if len(semantic) != LEVELS or degradation.shape[0] != image.shape[0]:
            raise InvalidValueError(
                f"`guidance` must hold {LEVELS} semantic tensors and a degradation embedding for the batch of "
                f"{image.shape[0]}, got {len(semantic)} tensors and a batch of {degradation.shape[0]}."
            )

        def decode(latent_in: Tensor, skips: tuple[Tensor, Tensor, Tensor]) -> Tensor:
            decoded = self.latent(latent_in, self.pgm[3](latent_in, semantic[3], degradation))
            stages = ((self.up3, self.reduce3, self.decoder3), (self.up2, self.reduce2, self.decoder2),
                      (self.up1, self.reduce1, self.decoder1))
            for level, (up, reduce, stage) in zip((2, 1, 0), stages, strict=True):
                merged = self.merge(up, reduce, decoded, skips[level])
                decoded = stage(merged, self.pgm[level](merged, semantic[level], degradation))
            return decoded

        return self.restore_with(image, decode)

    def forward(self, image: Tensor) -> Tensor:
        """Restore whole images ``(B, 3, H, W)`` in ``[0, 1]``: guidance, then the network."""
        return self.forward_with_guidance(image, self.compute_guidance(image))

    # -- hub -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments; DINOv2 by its Hub id or folder, or by its config when defined in memory."""
        return {
            "dim": self.dim,
            "blocks": list(self.blocks),
            "heads": list(self.heads),
            "refinement_blocks": self.refinement_blocks,
            "semantic_encoder": self.semantic.spec(),
            "semantic_encoder_revision": self.semantic.revision,
            "semantic_layers": list(self.semantic.layers),
        }

    def _external_state_prefixes(self) -> tuple[str, ...]:
        return ("semantic.encoder.",) if self.semantic.encoder_id is not None else ()
