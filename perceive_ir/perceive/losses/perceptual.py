"""The difficulty-adaptive perceptual loss, L_dpl, as a function of precomputed features."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ...errors import InvalidValueError

__all__ = ["mean_abs_distance", "difficulty_adaptive_perceptual_loss", "EASY_NEGATIVE_WEIGHT"]

#: Weight of the degraded input (the "easy" negative) in the denominator (the authors' losses.py).
EASY_NEGATIVE_WEIGHT = 2.0


def mean_abs_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample mean absolute difference ``D``: ``(B, ...) × (B, ...) → (B,)``."""
    return (a - b).abs().flatten(1).mean(dim=1)


def difficulty_adaptive_perceptual_loss(
    restored: Sequence[Tensor],
    positive: Sequence[Tensor],
    easy_negative: Sequence[Tensor],
    medium: Sequence[Sequence[Tensor]] = (),
    medium_weights: Tensor | None = None,
    layer_weights: Sequence[float] = (1 / 12, 1 / 6, 1 / 3, 1.0),
    eps: float = 1e-6,
) -> Tensor:
    """Contrastive ratio in a feature space, averaged over the batch.

    ``Σ_l w_l · D(R_l, GT_l) / max(2·D(R_l, LQ_l) + Σ_k a_k·D(R_l, M_k,l), eps)``

    [paper: authors losses.py DifficultyAdaptivePerceptualLoss, denominator.clamp_min(1e-6)]

    Args:
        restored: Features of the restored images (the anchor), one tensor per layer.
        positive: Features of the clean targets.
        easy_negative: Features of the degraded inputs.
        medium: For each medium negative ``k``, its features per layer.
        medium_weights: ``(B, K)`` difficulty weights ``a_k``; default ones.
        layer_weights: ``w_l``, one per layer.
        eps: Lower bound of the denominator, for when every negative equals the anchor (the
            authors' ``clamp_min(1e-6)``).

    Returns:
        Scalar loss.

    Example:
        >>> import torch
        >>> r, gt, lq = [torch.rand(2, 8)], [torch.rand(2, 8)], [torch.rand(2, 8)]
        >>> difficulty_adaptive_perceptual_loss(r, gt, lq, layer_weights=[1.0]).shape
        torch.Size([])
    """
    layers = len(restored)
    if not (len(positive) == len(easy_negative) == len(layer_weights) == layers):
        raise InvalidValueError(
            f"Feature lists disagree: {layers} restored, {len(positive)} positive, {len(easy_negative)} easy "
            f"negative layers and {len(layer_weights)} layer weights."
        )
    batch = restored[0].shape[0]
    if medium and medium_weights is None:
        medium_weights = torch.ones(batch, len(medium), device=restored[0].device)
    total = restored[0].new_zeros(batch)
    for layer in range(layers):
        anchor = restored[layer]
        denominator = EASY_NEGATIVE_WEIGHT * mean_abs_distance(anchor, easy_negative[layer])
        for k, negative in enumerate(medium):
            weight = medium_weights[:, k]  # type: ignore[index]  # set above whenever `medium` is non-empty
            denominator = denominator + weight * mean_abs_distance(anchor, negative[layer])
        total = total + layer_weights[layer] * mean_abs_distance(anchor, positive[layer]) / denominator.clamp_min(eps)
    return total.mean()
