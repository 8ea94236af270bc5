"""The frozen DINOv2 semantic features of the authors' restorer, with their preprocessing.

The authors' ``DinoSemanticEncoder`` resizes the whole image to 224×224 (bicubic, no
antialiasing, no crop), normalises it with the ImageNet statistics and takes the CLS token
of DINOv2's hidden states 1, 4, 8 and 12 (``hidden_states[0]`` is the embedding output and
the last one is read *before* the final layer norm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..._defaults import DEFAULT_SEMANTIC_ENCODER
from ..._validation import renamed_keywords
from ...errors import InvalidValueError
from ...perceive.semantic import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EncoderSpec,
    build_semantic_encoder,
    encoder_hidden_states,
)

__all__ = ["OFFICIAL_SEMANTIC_LAYERS", "DinoClsFeatures"]

#: The deprecated keyword spellings of :class:`DinoClsFeatures` → the current ones.
_RENAMED = {"encoder": "semantic_encoder", "revision": "semantic_encoder_revision"}

#: The hidden states whose CLS tokens guide the four levels, finest level first.
OFFICIAL_SEMANTIC_LAYERS: tuple[int, int, int, int] = (1, 4, 8, 12)


class DinoClsFeatures(nn.Module):
    """CLS tokens of chosen hidden states of a frozen DINOv2, computed without gradients.

    Args:
        semantic_encoder: A Hub id or local folder of a DINOv2 model (``"facebook/dinov2-base"``,
            the authors'), a transformers config or config dict (random weights: tests), or a model.
        layers: Hidden states to read (``1..depth``).
        image_size: Side of the square the image is resized to.
        semantic_encoder_revision: Hub revision of ``semantic_encoder``.
        **renamed: ``encoder`` and ``revision``, the deprecated spellings of ``semantic_encoder``
            and ``semantic_encoder_revision`` (a ``DeprecationWarning``).

    Example:
        >>> from transformers import Dinov2Config
        >>> tiny = Dinov2Config(hidden_size=32, num_hidden_layers=12, num_attention_heads=2, intermediate_size=64)
        >>> features = DinoClsFeatures(tiny)(torch.rand(2, 3, 40, 56))
        >>> [tuple(f.shape) for f in features]
        [(2, 32), (2, 32), (2, 32), (2, 32)]
    """

    encoder: Any  # a transformers model (its config's fields are untyped)
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
        layers: Sequence[int] = OFFICIAL_SEMANTIC_LAYERS,
        image_size: int = 224,
        semantic_encoder_revision: str | None = None,
        **renamed: Any,
    ) -> None:
        super().__init__()
        given = renamed_keywords(renamed, _RENAMED, "DinoClsFeatures")
        if "semantic_encoder" in given and semantic_encoder is not DEFAULT_SEMANTIC_ENCODER:
            raise InvalidValueError("Give `semantic_encoder` only (`encoder` is its deprecated spelling), not both.")
        encoder: EncoderSpec = given.get("semantic_encoder", semantic_encoder)
        revision = given.get("semantic_encoder_revision", semantic_encoder_revision)
        model, self.encoder_id = build_semantic_encoder(encoder, revision)
        if model is None:
            raise InvalidValueError(
                "`semantic_encoder` must name a DINOv2 model; the authors' restorer needs semantic features."
            )
        self.encoder = model.requires_grad_(False).eval()
        self.revision = revision
        depth = int(self.encoder.config.num_hidden_layers)
        layers = tuple(layers)
        if not layers or not all(isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= depth for i in layers):
            raise InvalidValueError(f"`layers` must be hidden-state indices in 1..{depth}, got {layers!r}.")
        self.layers = layers
        self.image_size = image_size
        self.dim = int(self.encoder.config.hidden_size)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> DinoClsFeatures:
        """The encoder always stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    @torch.no_grad()
    def forward(self, images: Tensor) -> list[Tensor]:
        """``(B, 3, H, W)`` images in ``[0, 1]`` → one ``(B, dim)`` CLS token per layer."""
        size = (self.image_size, self.image_size)
        pixels = F.interpolate(images, size=size, mode="bicubic", align_corners=False)
        pixels = (pixels - self.mean.to(pixels.dtype)) / self.std.to(pixels.dtype)
        param = next(self.encoder.parameters())
        hidden = encoder_hidden_states(self.encoder, pixels.to(param.dtype))
        return [hidden[i][:, 0].to(images.dtype) for i in self.layers]

    def spec(self) -> str | dict[str, Any]:
        """How a config names the encoder: its Hub id or folder, or its config dict."""
        return self.encoder_id if self.encoder_id is not None else self.encoder.config.to_dict()

