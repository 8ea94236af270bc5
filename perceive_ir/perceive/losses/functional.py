"""The four terms of the quality-aware loss as functions, and the two encoder passes they share.

:class:`~perceive_ir.perceive.losses.QualityAwareLoss` is a thin module over these functions
(kornia's functional + module pattern): it checks its inputs, runs the frozen encoders once per
call and adds the weighted terms. Each term can be computed on its own here, with the same
values the module reports in ``.terms``:

* :func:`restoration_term` — ``L_rec``, L1 between restored and target.
* :func:`clip_quality_term` — ``L_clip``, ``mean(1 − p_high)`` under the quality perceiver.
* :func:`perceptual_term` — ``L_dpl``, the difficulty-adaptive perceptual ratio in a feature
  space, on the features :func:`encode_restored` and :func:`encode_references` return; the
  weights ``a_k · m_k`` of its medium negatives come from :func:`medium_negative_weights`.
* :func:`contrastive_term` — ``L_cl``, the authors' InfoNCE on CFE embeddings.

Example:
    >>> import torch
    >>> from perceive_ir.perceive.losses import VGG16FeatureSpace
    >>> space = VGG16FeatureSpace(weights=None)
    >>> restored, target, degraded = torch.rand(3, 2, 3, 32, 32).unbind(0)
    >>> _, features = encode_restored(restored, space, need_features=True)
    >>> references = encode_references(space, target, degraded)
    >>> perceptual_term(features, references, layer_weights=space.layer_weights).shape
    torch.Size([])
    >>> float(restoration_term(target, target))
    0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import InvalidValueError
from ..contrastive import degradation_contrastive_loss
from .difficulty import DifficultyRule
from .feature_spaces import PAPER_LAYER_WEIGHTS, ClipFeatureSpace, FeatureSpace
from .perceptual import difficulty_adaptive_perceptual_loss

if TYPE_CHECKING:
    from ..perceiver import QualityPerceiver

__all__ = [
    "ReferenceFeatures",
    "clip_quality_term",
    "contrastive_term",
    "encode_references",
    "encode_restored",
    "medium_negative_weights",
    "medium_psnr",
    "perceptual_term",
    "quality_score",
    "restoration_term",
]

#: The score of each quality tier (low, medium, high) in :func:`quality_score`.
_TIER_VALUES = (0.0, 0.5, 1.0)
#: The authors' floor of the MSE behind a medium negative's PSNR.
_MSE_FLOOR = 1e-8


def _perceiver(perceiver: QualityPerceiver | None, what: str) -> QualityPerceiver:
    if perceiver is None:
        raise InvalidValueError(f"{what} needs a QualityPerceiver; pass `perceiver=`.")
    return perceiver


@dataclass
class ReferenceFeatures:
    """Features of the images ``L_dpl`` compares the restored image with, from one ``no_grad`` pass.

    Attributes:
        positive: Features of the targets, one tensor per layer.
        easy_negative: Features of the degraded inputs.
        medium: For each medium negative ``k``, its features per layer.
        medium_embedding: ``(K·B, D)`` CLIP embeddings of the medium negatives (``k``-major),
            when they were asked for (rules that score them with the perceiver).
    """

    positive: list[Tensor]
    easy_negative: list[Tensor]
    medium: list[list[Tensor]]
    medium_embedding: Tensor | None = None


def restoration_term(restored: Tensor, target: Tensor) -> Tensor:
    """``L_rec``: the mean absolute difference between restored and target.

    Example:
        >>> import torch
        >>> float(restoration_term(torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)))
        1.0
    """
    return F.l1_loss(restored, target)


def encode_restored(
    restored: Tensor,
    feature_space: FeatureSpace,
    perceiver: QualityPerceiver | None = None,
    *,
    need_features: bool = False,
    need_embedding: bool = False,
) -> tuple[Tensor | None, list[Tensor] | None]:
    """The one pass with gradient over the restored batch: ``(CLIP embedding, feature-space features)``.

    With a :class:`~perceive_ir.perceive.losses.ClipFeatureSpace` one forward of the CLIP tower gives
    both; otherwise the embedding is the perceiver's own pass. What is not needed is ``None``.

    Args:
        restored: ``(B, 3, H, W)`` restored images.
        feature_space: The feature space of ``L_dpl``.
        perceiver: The quality perceiver (needed when ``need_embedding``).
        need_features: Compute the feature-space features (``L_dpl``).
        need_embedding: Compute the CLIP embedding (``L_clip``, perceiver-scored difficulty).

    Example:
        >>> import torch
        >>> from perceive_ir.perceive.losses import CallableFeatureSpace
        >>> embedding, features = encode_restored(torch.rand(1, 3, 8, 8), CallableFeatureSpace(lambda x: [x]),
        ...                                       need_features=True)
        >>> embedding is None, len(features)
        (True, 1)
    """
    embedding, features = None, None
    if need_features and isinstance(feature_space, ClipFeatureSpace):
        embedding, features = feature_space.forward_with_embedding(restored)
    elif need_features:
        features = feature_space(restored)
    if embedding is None and need_embedding:
        embedding = _perceiver(perceiver, "The restored images' CLIP embedding").encode_images(restored)
    return embedding, features


def encode_references(
    feature_space: FeatureSpace,
    target: Tensor,
    degraded: Tensor,
    mediums: Sequence[Tensor] = (),
    perceiver: QualityPerceiver | None = None,
    *,
    need_medium_embedding: bool = False,
) -> ReferenceFeatures:
    """The one ``no_grad`` pass over target, degraded and medium images together, split back per image set.

    Args:
        feature_space: The feature space of ``L_dpl``.
        target: ``(B, 3, H, W)`` clean targets (the positive).
        degraded: The degraded inputs (the easy negative), same shape.
        mediums: The medium negatives, each of the same shape.
        perceiver: The quality perceiver (needed for ``need_medium_embedding`` outside the CLIP space).
        need_medium_embedding: Also return the medium negatives' CLIP embeddings.

    Example:
        >>> import torch
        >>> from perceive_ir.perceive.losses import CallableFeatureSpace
        >>> refs = encode_references(CallableFeatureSpace(lambda x: [x]), torch.rand(2, 3, 8, 8),
        ...                          torch.rand(2, 3, 8, 8), [torch.rand(2, 3, 8, 8)])
        >>> refs.positive[0].shape[0], len(refs.medium)
        (2, 1)
    """
    batch = target.shape[0]
    embedding: Tensor | None
    with torch.no_grad():
        others = torch.cat([target, degraded, *mediums])
        if isinstance(feature_space, ClipFeatureSpace):
            embedding, features = feature_space.forward_with_embedding(others)
        else:
            features = feature_space(others)
            embedding = (
                _perceiver(perceiver, "Scoring the medium negatives").encode_images(torch.cat(list(mediums)))
                if need_medium_embedding
                else None
            )
    chunks = [f.split(batch) for f in features]
    medium_embedding = embedding[-batch * len(mediums) :] if need_medium_embedding and embedding is not None else None
    return ReferenceFeatures(
        positive=[c[0] for c in chunks],
        easy_negative=[c[1] for c in chunks],
        medium=[[c[2 + k] for c in chunks] for k in range(len(mediums))],
        medium_embedding=medium_embedding,
    )


def quality_score(perceiver: QualityPerceiver, embedding: Tensor) -> Tensor:
    """``(B,)`` perceiver scores in ``[0, 1]`` of normalised CLIP embeddings: the tiers' mean under the softmax.

    Example:
        >>> import torch
        >>> from perceive_ir import QualityPerceiver
        >>> from perceive_ir.testing import tiny_clip_config
        >>> perceiver = QualityPerceiver(tiny_clip_config(), None, n_ctx=4)
        >>> quality_score(perceiver, perceiver.encode_images(torch.rand(2, 3, 32, 32))).shape
        torch.Size([2])
    """
    probs = perceiver.logits_from_features(embedding).softmax(dim=-1)
    return probs @ probs.new_tensor(_TIER_VALUES)


def clip_quality_term(perceiver: QualityPerceiver, embedding: Tensor, logit_scale: bool = True) -> Tensor:
    """``L_clip``: ``mean(1 − p_high)`` of the restored images' CLIP embeddings under the perceiver.

    Args:
        perceiver: The frozen quality perceiver.
        embedding: ``(B, D)`` normalised CLIP embeddings of the restored images (with gradient).
        logit_scale: With CLIP's logit scale (default); ``False`` uses the raw cosines, as the
            authors' released code does.

    Example:
        >>> import torch
        >>> from perceive_ir import QualityPerceiver
        >>> from perceive_ir.testing import tiny_clip_config
        >>> perceiver = QualityPerceiver(tiny_clip_config(), None, n_ctx=4)
        >>> term = clip_quality_term(perceiver, perceiver.encode_images(torch.rand(2, 3, 32, 32)))
        >>> 0 <= float(term.detach()) <= 1
        True
    """
    p_high = perceiver.logits_from_features(embedding, logit_scale=logit_scale).softmax(dim=-1)[:, 2]
    return (1.0 - p_high).mean()


def medium_psnr(mediums: Sequence[Tensor], target: Tensor) -> Tensor:
    """``(B, K)`` PSNR (dB) of each medium negative against the target, per sample, without gradient.

    Example:
        >>> import torch
        >>> target = torch.full((1, 3, 8, 8), 0.5)
        >>> medium_psnr([target + 0.1], target).round().tolist()
        [[20.0]]
    """
    with torch.no_grad():
        mse = torch.stack([(m.clamp(0, 1) - target).square().flatten(1).mean(1) for m in mediums], 1)
        return -10.0 * torch.log10(mse.float().clamp_min(_MSE_FLOOR))


def medium_negative_weights(
    rule: DifficultyRule,
    mediums: Sequence[Tensor],
    target: Tensor,
    *,
    perceiver: QualityPerceiver | None = None,
    restored_embedding: Tensor | None = None,
    medium_embedding: Tensor | None = None,
    tasks: Tensor | None = None,
    masks: Tensor | None = None,
) -> Tensor:
    """The ``(B, K)`` weights ``a_k · m_k`` of the medium negatives of one batch, in ``target``'s dtype.

    Args:
        rule: The difficulty rule that gives ``a_k``.
        mediums: The ``K`` medium negatives, each ``(B, 3, H, W)``.
        target: The clean targets.
        perceiver: The quality perceiver (rules with ``needs_scores``).
        restored_embedding: CLIP embeddings of the restored images (rules with ``needs_scores``).
        medium_embedding: ``(K·B, D)`` CLIP embeddings of the medium negatives, ``k``-major
            (rules with ``needs_scores``; :func:`encode_references` returns them).
        tasks: ``(B,)`` task ids (per-task rules).
        masks: ``(B, K)`` booleans ``m_k``: where each negative is valid; ``None``: everywhere.

    Example:
        >>> import torch
        >>> from perceive_ir.perceive.losses import FixedDifficulty
        >>> target = torch.rand(2, 3, 8, 8)
        >>> medium_negative_weights(FixedDifficulty(1.25), [target], target,
        ...                         masks=torch.tensor([[True], [False]])).tolist()
        [[1.25], [0.0]]
    """
    batch, num_medium = target.shape[0], len(mediums)
    restored_score = medium_scores = None
    if rule.needs_scores:
        scorer = _perceiver(perceiver, "A perceiver-scored difficulty rule")
        if restored_embedding is None or medium_embedding is None:
            raise InvalidValueError(
                f"{type(rule).__name__} needs the CLIP embeddings of the restored and medium images."
            )
        restored_score = quality_score(scorer, restored_embedding.detach())
        medium_scores = quality_score(scorer, medium_embedding).view(num_medium, batch).T
    psnr = medium_psnr(mediums, target) if rule.needs_medium_psnr else None
    weights = rule.weights(
        batch, num_medium, target.device, restored_score, medium_scores, tasks=tasks, medium_psnr=psnr
    ).to(target.dtype)
    if masks is not None:  # m_k: a proxy counts only on the samples of its tasks
        weights = weights * masks.to(weights)
    return weights


def perceptual_term(
    restored_features: Sequence[Tensor],
    references: ReferenceFeatures,
    medium_weights: Tensor | None = None,
    layer_weights: Sequence[float] = PAPER_LAYER_WEIGHTS,
) -> Tensor:
    """``L_dpl``: the difficulty-adaptive perceptual ratio of the restored features against the references.

    Args:
        restored_features: Features of the restored images (with gradient), one tensor per layer.
        references: The targets', degraded inputs' and medium negatives' features (:func:`encode_references`).
        medium_weights: ``(B, K)`` weights of the medium negatives; default ones.
        layer_weights: One weight per layer (the feature space's ``layer_weights``).

    Example:
        >>> import torch
        >>> refs = ReferenceFeatures([torch.zeros(1, 4)], [torch.ones(1, 4)], [])
        >>> float(perceptual_term([torch.zeros(1, 4)], refs, layer_weights=[1.0]))
        0.0
    """
    return difficulty_adaptive_perceptual_loss(
        restored_features,
        references.positive,
        references.easy_negative,
        references.medium,
        medium_weights,
        layer_weights,
    )


def contrastive_term(
    z: Tensor, z_positive: Tensor, labels: Tensor | None = None, degenerate: Literal["warn", "raise"] = "warn"
) -> Tensor:
    """``L_cl``: the authors' InfoNCE between two crops' CFE embeddings.

    The same as :func:`~perceive_ir.perceive.contrastive.degradation_contrastive_loss` with the
    loss's ``degenerate`` option.

    Example:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> z = F.normalize(torch.randn(4, 16), dim=1)
        >>> float(contrastive_term(z, z, torch.tensor([0, 0, 1, 1]))) < 1
        True
    """
    return degradation_contrastive_loss(z, z_positive, labels, degenerate=degenerate)
