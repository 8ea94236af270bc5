"""perceive-ir: drop-in modules for all-in-one image restoration.

Perceive-IR's quality perceiver, quality-aware loss, semantic guidance and compact
degradation features, and AMIRNet's degradation tree, for any restoration backbone.
"""

from ._version import __version__
from .cfe import CompactFeatureExtractor, degradation_contrastive_loss
from .condition import ConditionSource
from .cross_attention import ChannelCrossAttention
from .film import FiLMHead, film
from .hub import HubMixin, PretrainedNotFoundError
from .losses import LossWeights, QualityAwareLoss, QualityAwareLossOutput
from .perceiver import QualityPerceiver
from .layer_probe import probe_backbone, select_guidance_layers
from .registry import PUBLISHED_WEIGHTS, list_published
from .semantic import SemanticGuidance
from .tiling import tiled_apply
from .wrap import Guidance, WrappedBackbone, wrap_backbone

__all__ = [
    "__version__",
    "ChannelCrossAttention",
    "CompactFeatureExtractor",
    "ConditionSource",
    "FiLMHead",
    "Guidance",
    "HubMixin",
    "LossWeights",
    "PUBLISHED_WEIGHTS",
    "PretrainedNotFoundError",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "QualityPerceiver",
    "SemanticGuidance",
    "WrappedBackbone",
    "degradation_contrastive_loss",
    "film",
    "list_published",
    "probe_backbone",
    "select_guidance_layers",
    "tiled_apply",
    "wrap_backbone",
]
