"""Losses of Perceive-IR stage 2.

:class:`QualityAwareLoss` is a thin module over the functions of
:mod:`perceive_ir.perceive.losses.functional`, one per term (``restoration_term``,
``clip_quality_term``, ``perceptual_term``, ``contrastive_term``).

Named choices are registries whose entries are factories; register your own and select it by
name, in code or in a recipe:

* :data:`FEATURE_SPACES` — ``feature_space=`` (``"vgg16"``, ``"clip"``): factories
  ``(perceiver, layer_weights) -> FeatureSpace``.
* :data:`DIFFICULTY_RULES` — ``difficulty=`` (``"proxy_psnr"``, ``"proxy_psnr_sample"``,
  ``"perceiver"``): zero-argument factories returning a :class:`DifficultyRule`.
* :data:`LOSS_KINDS` — a recipe's ``loss.kind`` (``"quality"``, ``"l1"``): factories
  ``(LossSettings) -> QualityAwareLoss | "l1"``.

Example:
    >>> import functools
    >>> from perceive_ir.perceive.losses import DIFFICULTY_RULES, FixedDifficulty, resolve_difficulty
    >>> DIFFICULTY_RULES.register("gentle", functools.partial(FixedDifficulty, 0.5), overwrite=True)
    >>> resolve_difficulty("gentle").values
    [0.5]
"""

from . import functional
from .difficulty import (
    DIFFICULTY_RULES,
    DifficultyFactory,
    DifficultyRule,
    FixedDifficulty,
    PerceiverDifficulty,
    ProxyPSNRDifficulty,
    resolve_difficulty,
)
from .feature_spaces import (
    FEATURE_SPACES,
    PAPER_LAYER_WEIGHTS,
    CallableFeatureSpace,
    ClipFeatureSpace,
    FeatureSpace,
    FeatureSpaceFactory,
    VGG16FeatureSpace,
    VGG16WeightsNotFoundError,
    load_vgg16_state,
    resolve_feature_space,
)
from .kinds import LOSS_KINDS, LossFactory, LossSettings
from .perceptual import difficulty_adaptive_perceptual_loss, mean_abs_distance
from .proxies import Proxy, as_proxies
from .quality_aware import PAPER_FEATURE_SPACE, LossWeights, QualityAwareLoss, QualityAwareLossOutput

__all__ = [
    "DIFFICULTY_RULES",
    "FEATURE_SPACES",
    "LOSS_KINDS",
    "PAPER_FEATURE_SPACE",
    "PAPER_LAYER_WEIGHTS",
    "CallableFeatureSpace",
    "ClipFeatureSpace",
    "DifficultyFactory",
    "DifficultyRule",
    "FeatureSpace",
    "FeatureSpaceFactory",
    "FixedDifficulty",
    "LossFactory",
    "LossSettings",
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
    "functional",
    "load_vgg16_state",
    "mean_abs_distance",
    "resolve_difficulty",
    "resolve_feature_space",
]
