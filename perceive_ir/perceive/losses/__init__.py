"""Losses of Perceive-IR stage 2."""

from .difficulty import DifficultyRule, FixedDifficulty, PerceiverDifficulty, ProxyPSNRDifficulty
from .feature_spaces import (
    PAPER_LAYER_WEIGHTS,
    CallableFeatureSpace,
    ClipFeatureSpace,
    FeatureSpace,
    VGG16FeatureSpace,
    VGG16WeightsNotFoundError,
    load_vgg16_state,
)
from .perceptual import difficulty_adaptive_perceptual_loss, mean_abs_distance
from .proxies import Proxy, as_proxies
from .quality_aware import PAPER_FEATURE_SPACE, LossWeights, QualityAwareLoss, QualityAwareLossOutput

__all__ = [
    "PAPER_FEATURE_SPACE",
    "PAPER_LAYER_WEIGHTS",
    "CallableFeatureSpace",
    "ClipFeatureSpace",
    "DifficultyRule",
    "FeatureSpace",
    "FixedDifficulty",
    "LossWeights",
    "PerceiverDifficulty",
    "Proxy",
    "ProxyPSNRDifficulty",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "VGG16FeatureSpace",
    "VGG16WeightsNotFoundError",
    "as_proxies",
    "difficulty_adaptive_perceptual_loss",
    "load_vgg16_state",
    "mean_abs_distance",
]
