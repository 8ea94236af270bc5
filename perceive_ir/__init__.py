"""perceive-ir: drop-in modules for all-in-one image restoration.

Perceive-IR's quality perceiver, quality-aware loss, semantic guidance and compact
degradation features, and AMIRNet's degradation tree and feature transform blocks, for any
restoration backbone.
"""

from ._version import __version__
from .amirnet import DegradationTree, FeatureTransformBlock, NAFBlock, cluster_purity, collect_representations
from .cfe import CompactFeatureExtractor, degradation_contrastive_loss
from .condition import ConditionSource
from .cross_attention import ChannelCrossAttention
from .film import FiLMHead, film
from .hub import HubMixin, PretrainedNotFoundError
from .layer_probe import probe_backbone, select_guidance_layers
from .losses import LossWeights, QualityAwareLoss, QualityAwareLossOutput
from .models import AMIRNet, amirnet, build_model, load_restoration_model, save_restoration_model
from .perceiver import QualityPerceiver
from .published_results import PUBLISHED_RESULTS
from .registry import PUBLISHED_WEIGHTS, list_published
from .restore import restore
from .semantic import SemanticGuidance
from .tiling import tiled_apply
from .wrap import Guidance, WrappedBackbone, wrap_backbone

__all__ = [
    "AMIRNet",
    "ChannelCrossAttention",
    "CompactFeatureExtractor",
    "ConditionSource",
    "DegradationTree",
    "FeatureTransformBlock",
    "FiLMHead",
    "Guidance",
    "HubMixin",
    "LossWeights",
    "NAFBlock",
    "PUBLISHED_RESULTS",
    "PUBLISHED_WEIGHTS",
    "PretrainedNotFoundError",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "QualityPerceiver",
    "SemanticGuidance",
    "WrappedBackbone",
    "__version__",
    "amirnet",
    "build_model",
    "cluster_purity",
    "collect_representations",
    "degradation_contrastive_loss",
    "film",
    "list_published",
    "load_restoration_model",
    "probe_backbone",
    "restore",
    "save_restoration_model",
    "select_guidance_layers",
    "tiled_apply",
    "wrap_backbone",
]
