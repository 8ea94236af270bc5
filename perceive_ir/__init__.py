"""perceive-ir: drop-in modules for all-in-one image restoration.

Perceive-IR's quality perceiver, quality-aware loss, semantic guidance and compact
degradation features, and AMIRNet's degradation tree, for any restoration backbone.
"""

from ._version import __version__
from .cfe import CompactFeatureExtractor, degradation_contrastive_loss
from .condition import ConditionSource
from .hub import HubMixin, PretrainedNotFoundError
from .losses import LossWeights, QualityAwareLoss, QualityAwareLossOutput
from .perceiver import QualityPerceiver
from .registry import PUBLISHED_WEIGHTS, list_published

__all__ = [
    "__version__",
    "CompactFeatureExtractor",
    "ConditionSource",
    "HubMixin",
    "LossWeights",
    "PUBLISHED_WEIGHTS",
    "PretrainedNotFoundError",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "QualityPerceiver",
    "degradation_contrastive_loss",
    "list_published",
]
