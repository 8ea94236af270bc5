"""perceive-ir: drop-in modules for all-in-one image restoration.

Perceive-IR's quality perceiver, quality-aware loss, semantic guidance and compact
degradation features, and AMIRNet's degradation tree and feature transform blocks, for any
restoration backbone. The layers of the package, bottom to top, are described in
``docs/architecture.md``: infrastructure, the methods (:mod:`perceive_ir.perceive`,
:mod:`perceive_ir.amirnet`), :mod:`perceive_ir.retrofit`, :mod:`perceive_ir.models`,
:mod:`perceive_ir.inference`, :mod:`perceive_ir.data`, :mod:`perceive_ir.training`,
:mod:`perceive_ir.apps` and :mod:`perceive_ir.cli`.
"""

from . import amirnet
from ._validation import set_checks
from ._version import __version__
from .amirnet import AMIRNet, DegradationTree, FeatureTransformBlock, NAFBlock, cluster_purity, collect_representations
from .apps.published_results import PUBLISHED_RESULTS
from .errors import PerceiveIRError
from .hub import HubMixin, PretrainedNotFoundError
from .inference import restore, tiled_apply
from .models import (
    ModelDescriptor,
    create_model,
    list_models,
    load_model,
    load_restoration_model,
    register_model,
    save_restoration_model,
)
from .perceive import (
    ChannelCrossAttention,
    CompactFeatureExtractor,
    FiLMHead,
    LossWeights,
    Proxy,
    QualityAwareLoss,
    QualityAwareLossOutput,
    QualityPerceiver,
    SemanticGuidance,
    degradation_contrastive_loss,
    film,
)
from .published_weights import PUBLISHED_WEIGHTS, list_published
from .retrofit import ConditionSource, Guidance, WrappedBackbone, probe_backbone, select_guidance_layers, wrap_backbone

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
    "ModelDescriptor",
    "NAFBlock",
    "PUBLISHED_RESULTS",
    "PUBLISHED_WEIGHTS",
    "PerceiveIRError",
    "PretrainedNotFoundError",
    "Proxy",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "QualityPerceiver",
    "SemanticGuidance",
    "WrappedBackbone",
    "__version__",
    "amirnet",
    "cluster_purity",
    "collect_representations",
    "create_model",
    "degradation_contrastive_loss",
    "film",
    "list_models",
    "list_published",
    "load_model",
    "load_restoration_model",
    "probe_backbone",
    "register_model",
    "restore",
    "save_restoration_model",
    "set_checks",
    "select_guidance_layers",
    "tiled_apply",
    "wrap_backbone",
]


def __getattr__(name: str) -> object:
    if name == "LoadedModel":  # the former result of load_model, now one ModelDescriptor
        from .models._deprecated import warn_deprecated

        warn_deprecated("perceive_ir.LoadedModel", "perceive_ir.ModelDescriptor")
        return ModelDescriptor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
