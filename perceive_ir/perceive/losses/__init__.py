"""Losses of Perceive-IR stage 2."""

from .difficulty import DifficultyRule, FixedDifficulty, PerceiverDifficulty, ProxyPSNRDifficulty
from .feature_spaces import (
    PAPER_LAYER_WEIGHTS,
    CallableFeatureSpace,
    ClipFeatureSpace,
    FeatureSpace,
    VGG16FeatureSpace,
)
from .perceptual import difficulty_adaptive_perceptual_loss, mean_abs_distance
from .quality_aware import LossWeights, QualityAwareLoss, QualityAwareLossOutput

__all__ = [
    "PAPER_LAYER_WEIGHTS",
    "CallableFeatureSpace",
    "ClipFeatureSpace",
    "DifficultyRule",
    "FeatureSpace",
    "FixedDifficulty",
    "LossWeights",
    "PerceiverDifficulty",
    "ProxyPSNRDifficulty",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "VGG16FeatureSpace",
    "difficulty_adaptive_perceptual_loss",
    "mean_abs_distance",
]
