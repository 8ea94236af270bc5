"""Tiny random foundation-model configs for offline smoke tests and examples.

Real use loads CLIP and DINOv2 weights from the Hub. Without network access (CI, air-gapped
machines) these configs build structurally identical, tiny, randomly initialised encoders,
so every code path of the library can run in seconds on a CPU. Their outputs mean nothing.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import transformers

__all__ = ["tiny_clip_config", "tiny_dinov2_config"]

_TINY_CLIP: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 4, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


def tiny_clip_config() -> dict[str, Any]:
    """An open_clip CLIP config (4-block ViT, 32×32 input, real BPE vocabulary), ~2M parameters.

    Example:
        >>> from perceive_ir import QualityPerceiver
        >>> perceiver = QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None)
        >>> perceiver.image_size
        (32, 32)
    """
    return copy.deepcopy(_TINY_CLIP)


def tiny_dinov2_config(num_hidden_layers: int = 12) -> transformers.Dinov2Config:
    """A ``transformers.Dinov2Config`` with DINOv2-base's depth (so layers 1, 4, 8, 12 exist), width 32.

    The MLP width follows DINOv2's ``mlp_ratio`` (4 × 32 = 128).

    Example:
        >>> tiny_dinov2_config().hidden_size
        32
    """
    from transformers import Dinov2Config

    return Dinov2Config(
        hidden_size=32,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=2,
        image_size=224,
        patch_size=14,
    )
