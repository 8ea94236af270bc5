"""Clustering quality: how well unsupervised clusters match known degradation types."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..errors import InvalidTypeError, InvalidValueError

__all__ = ["cluster_purity"]


def cluster_purity(clusters: Tensor | Sequence[int], labels: Tensor | Sequence[int]) -> float:
    """Fraction of samples whose cluster's majority label is their own label.

    Chance level for ``T`` balanced types and ``T`` clusters is about ``1 / T``; 1.0 means
    every cluster holds a single type (a type may still be split over several clusters).

    Args:
        clusters: ``(N,)`` integer cluster of every sample.
        labels: ``(N,)`` integer true type of every sample (for evaluation only).

    Returns:
        Purity in ``[0, 1]``.

    Example:
        >>> cluster_purity([0, 0, 1, 1, 1], [5, 5, 6, 6, 5])
        0.8
    """
    c = torch.as_tensor(clusters).flatten()
    y = torch.as_tensor(labels).flatten()
    if c.shape != y.shape or c.numel() == 0:
        raise InvalidValueError(
            f"`clusters` and `labels` must be non-empty and of equal length, got {c.numel()} and {y.numel()}."
        )
    if c.is_floating_point() or y.is_floating_point():
        raise InvalidTypeError("`clusters` and `labels` must hold integers.")
    _, c_idx = torch.unique(c, return_inverse=True)
    _, y_idx = torch.unique(y, return_inverse=True)
    table = torch.zeros(int(c_idx.max()) + 1, int(y_idx.max()) + 1, dtype=torch.long)
    table.index_put_((c_idx, y_idx), torch.ones_like(c_idx), accumulate=True)
    return float(table.max(dim=1).values.sum()) / c.numel()
