"""Default sources stated once: the semantic encoder and the CLIP model every entry point falls back to.

Each public signature that has such a default uses these constants, so a change of default is one edit.

Example:
    >>> from perceive_ir._defaults import DEFAULT_CLIP_MODEL, DEFAULT_SEMANTIC_ENCODER
    >>> DEFAULT_SEMANTIC_ENCODER, DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED
    ('facebook/dinov2-base', 'ViT-B-32', 'openai')
"""

from __future__ import annotations

__all__ = ["DEFAULT_CLIP_MODEL", "DEFAULT_CLIP_PRETRAINED", "DEFAULT_SEMANTIC_ENCODER"]

DEFAULT_SEMANTIC_ENCODER = "facebook/dinov2-base"
"""The DINOv2 checkpoint on the Hugging Face Hub that semantic guidance loads by default."""

DEFAULT_CLIP_MODEL = "ViT-B-32"
"""The open_clip model name the quality perceiver builds by default."""

DEFAULT_CLIP_PRETRAINED = "openai"
"""The open_clip pretrained tag that goes with :data:`DEFAULT_CLIP_MODEL`."""
