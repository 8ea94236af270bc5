"""FiLM: the affine modulation, its head, any device and dtype, and float64 gradient checks."""

from __future__ import annotations

import pytest
import torch
from torch.autograd.gradcheck import GradcheckError

from perceive_ir.perceive.film import FiLMHead, film

from .._gradcheck import as_inputs, assert_gradcheck, module_gradcheck


def _randomise_last_layer(head: FiLMHead) -> FiLMHead:
    """The last layer starts at zero (identity FiLM); give it weights so every gradient path is live."""
    with torch.no_grad():
        head.mlp[-1].weight.normal_(std=0.5)
        head.mlp[-1].bias.normal_(std=0.5)
    return head


def test_film_is_the_affine_map_on_any_device_and_dtype(device, float_dtype) -> None:
    x = torch.randn(2, 3, 4, 5, device=device, dtype=float_dtype)
    gamma, beta = torch.randn(2, 3, device=device), torch.randn(2, 3, device=device)  # float32 γ, β are cast
    out = film(x, gamma, beta)
    assert out.dtype == float_dtype and out.device == x.device
    expected = x * (1 + gamma.to(float_dtype)[:, :, None, None]) + beta.to(float_dtype)[:, :, None, None]
    torch.testing.assert_close(out, expected)
    assert torch.equal(film(x, torch.zeros_like(gamma), torch.zeros_like(beta)), x)


def test_head_is_identity_at_init_on_any_device_and_dtype(device, float_dtype) -> None:
    head = FiLMHead(in_dim=6, channels=3, hidden_dim=8).to(device, float_dtype)
    gamma, beta = head(torch.randn(2, 6, device=device, dtype=float_dtype))
    assert gamma.shape == beta.shape == (2, 3) and gamma.dtype == float_dtype
    assert not gamma.any() and not beta.any()
    x = torch.randn(2, 3, 4, 4, device=device, dtype=float_dtype)
    assert torch.equal(film(x, gamma, beta), x)


def test_film_gradcheck() -> None:
    x, gamma, beta = as_inputs(torch.randn(2, 3, 4, 5), torch.randn(2, 3), torch.randn(2, 3))
    assert_gradcheck(film, (x, gamma, beta))


def test_head_gradcheck_through_its_parameters() -> None:
    head = _randomise_last_layer(FiLMHead(in_dim=5, channels=3, hidden_dim=6))
    module_gradcheck(head, [torch.randn(2, 5)])


def test_head_and_film_together_gradcheck() -> None:
    head = _randomise_last_layer(FiLMHead(in_dim=4, channels=2, hidden_dim=5)).double()
    x, cond = as_inputs(torch.randn(2, 2, 3, 3), torch.randn(2, 4))
    assert_gradcheck(lambda x, cond: film(x, *head(cond)), (x, cond))


class _WrongFiLM(torch.autograd.Function):
    """FiLM with a backward that forgets the ``1 +`` in ``∂Y/∂X = 1 + γ``."""

    @staticmethod
    def forward(ctx, x, gamma, beta):
        ctx.save_for_backward(x, gamma)
        return film(x, gamma, beta)

    @staticmethod
    def backward(ctx, grad):
        x, gamma = ctx.saved_tensors
        return grad * gamma[:, :, None, None], (grad * x).sum((2, 3)), grad.sum((2, 3))


def test_the_gradient_check_catches_a_wrong_backward() -> None:
    x, gamma, beta = as_inputs(torch.randn(2, 3, 4, 5), torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(GradcheckError):
        assert_gradcheck(_WrongFiLM.apply, (x, gamma, beta))


def test_bad_shapes_and_sizes() -> None:
    with pytest.raises(ValueError, match="FiLM needs"):
        film(torch.randn(2, 3, 4, 4), torch.randn(2, 4), torch.randn(2, 3))
    with pytest.raises(ValueError, match="FiLM needs"):
        film(torch.randn(2, 3, 4), torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(ValueError, match="hidden_dim"):
        FiLMHead(in_dim=4, channels=2, hidden_dim=0)
    with pytest.raises(ValueError, match="channels"):
        FiLMHead(in_dim=4, channels=True, hidden_dim=2)
