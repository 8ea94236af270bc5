"""The difficulty-adaptive perceptual loss and its distance: values and float64 gradient checks."""

from __future__ import annotations

import torch

from perceive_ir.perceive.losses.perceptual import (
    EASY_NEGATIVE_WEIGHT,
    difficulty_adaptive_perceptual_loss,
    mean_abs_distance,
)

from ..._gradcheck import as_inputs, assert_gradcheck


def _apart(anchor: torch.Tensor, low: float = 0.2, high: float = 1.0) -> torch.Tensor:
    """A tensor that differs from ``anchor`` by at least ``low`` everywhere: |·| is smooth there."""
    sign = torch.randint(0, 2, anchor.shape).mul(2).sub(1).to(anchor.dtype)
    return anchor + sign * (low + (high - low) * torch.rand(anchor.shape, dtype=anchor.dtype))


def test_mean_abs_distance_is_per_sample() -> None:
    a, b = torch.zeros(2, 3, 2), torch.ones(2, 3, 2)
    b[1] = -3
    torch.testing.assert_close(mean_abs_distance(a, b), torch.tensor([1.0, 3.0]))


def test_mean_abs_distance_gradcheck() -> None:
    a = torch.randn(3, 2, 4)
    assert_gradcheck(mean_abs_distance, as_inputs(a, _apart(a)))


def test_loss_is_the_documented_ratio() -> None:
    r, gt, lq, m = torch.rand(4, 2, 6).unbind(0)
    weights = torch.tensor([[0.5], [2.0]])
    loss = difficulty_adaptive_perceptual_loss([r], [gt], [lq], [[m]], weights, layer_weights=[0.3])
    d = mean_abs_distance
    expected = 0.3 * d(r, gt) / (EASY_NEGATIVE_WEIGHT * d(r, lq) + weights[:, 0] * d(r, m)).clamp_min(1e-6)
    torch.testing.assert_close(loss, expected.mean())


def test_loss_gradcheck_through_every_feature_and_the_difficulty_weights() -> None:
    """Two layers of different shapes, two medium negatives with per-sample weights."""
    shapes = [(2, 5), (2, 3, 2, 2)]
    restored = [torch.randn(s) for s in shapes]
    positive, easy = [_apart(r) for r in restored], [_apart(r) for r in restored]
    medium = [[_apart(r) for r in restored] for _ in range(2)]
    weights = 0.5 + torch.rand(2, 2)
    leaves = as_inputs(*restored, *positive, *easy, *medium[0], *medium[1], weights)

    def loss(r0, r1, p0, p1, e0, e1, m00, m01, m10, m11, w):
        return difficulty_adaptive_perceptual_loss(
            [r0, r1], [p0, p1], [e0, e1], [[m00, m01], [m10, m11]], w, layer_weights=[0.25, 1.0]
        )

    assert_gradcheck(loss, leaves)


def test_loss_gradcheck_with_the_default_weights_and_no_medium() -> None:
    restored = torch.randn(3, 4)
    leaves = as_inputs(restored, _apart(restored), _apart(restored))
    assert_gradcheck(lambda r, p, e: difficulty_adaptive_perceptual_loss([r], [p], [e], layer_weights=[1.0]), leaves)
