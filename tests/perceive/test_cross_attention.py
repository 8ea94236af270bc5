"""Channel cross-attention: identity at init, the computation itself on any device and dtype, gradients."""

from __future__ import annotations

import pytest
import torch

from perceive_ir.perceive.cross_attention import ChannelCrossAttention, default_num_heads

from .._gradcheck import module_gradcheck


def _reference(attn: ChannelCrossAttention, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The same attention written with explicit loops over batch and heads."""
    b, c, h, w = y.shape
    heads, d = attn.num_heads, c // attn.num_heads
    q_all, (k_all, v_all) = attn.q(y), attn.kv(x).chunk(2, dim=1)
    out = torch.empty_like(y)
    for i in range(b):
        for j in range(heads):
            sl = slice(j * d, (j + 1) * d)
            q = torch.nn.functional.normalize(q_all[i, sl].reshape(d, h * w), dim=1)
            k = torch.nn.functional.normalize(k_all[i, sl].reshape(d, h * w), dim=1)
            v = v_all[i, sl].reshape(d, h * w)
            a = torch.softmax(q @ k.T * attn.temperature[j], dim=-1)
            out[i, sl] = (a @ v).reshape(d, h, w)
    return y + attn.proj_out(out)


def _trained(attn: ChannelCrossAttention) -> ChannelCrossAttention:
    """Move the zero output projection and the temperatures off their initial values."""
    with torch.no_grad():
        attn.proj_out.weight.normal_()
        attn.proj_out.bias.normal_()
        attn.temperature.copy_(torch.linspace(0.5, 2.0, attn.num_heads).view(-1, 1, 1))
    return attn


def test_identity_at_init(device, float_dtype) -> None:
    attn = ChannelCrossAttention(16, num_heads=2).to(device, float_dtype)
    x = torch.randn(2, 16, 7, 5, device=device, dtype=float_dtype)
    y = x * 1.5 + 0.3
    assert torch.equal(attn(y, x), y)


def test_matches_explicit_reference_once_trained(device, float_dtype) -> None:
    attn = _trained(ChannelCrossAttention(8, num_heads=2)).to(device, float_dtype)
    x, y = torch.randn(2, 2, 8, 5, 6, device=device, dtype=float_dtype).unbind(0)
    out = attn(y, x)
    assert out.dtype == float_dtype and out.device == y.device
    assert not torch.allclose(out, y)
    torch.testing.assert_close(out, _reference(attn, y, x), rtol=1e-5, atol=1e-5)


def test_gradcheck_through_inputs_and_every_parameter() -> None:
    attn = _trained(ChannelCrossAttention(4, num_heads=2, bias=True))
    module_gradcheck(attn, torch.randn(2, 1, 4, 3, 3).unbind(0))


def test_keys_and_values_come_from_x() -> None:
    attn = ChannelCrossAttention(8)
    with torch.no_grad():
        attn.proj_out.weight.normal_()
    y, x1, x2 = torch.randn(3, 1, 8, 6, 6).unbind(0)
    assert not torch.allclose(attn(y, x1), attn(y, x2))


def test_gradient_flow() -> None:
    attn = ChannelCrossAttention(8, num_heads=2)
    x = torch.randn(2, 8, 6, 6)
    y = x.clone().requires_grad_(True)
    attn(y, x).square().sum().backward()
    # at init only the zero output projection (and y itself) receive a signal
    assert attn.proj_out.weight.grad.abs().sum() > 0
    assert y.grad is not None
    opt = torch.optim.SGD(attn.parameters(), lr=0.1)
    opt.step()
    opt.zero_grad()
    attn(y, x).square().sum().backward()
    for name in ("q.0.weight", "q.1.weight", "kv.0.weight", "kv.1.weight", "temperature"):
        grad = dict(attn.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_any_spatial_size() -> None:
    attn = ChannelCrossAttention(4)
    for h, w in ((1, 1), (3, 17), (16, 16)):
        x = torch.randn(1, 4, h, w)
        assert attn(x, x).shape == (1, 4, h, w)


def test_default_heads_and_validation() -> None:
    assert [default_num_heads(c) for c in (8, 48, 96, 192, 384, 100)] == [1, 1, 2, 4, 8, 2]
    assert ChannelCrossAttention(96).num_heads == 2
    with pytest.raises(ValueError, match="num_heads"):
        ChannelCrossAttention(10, num_heads=3)
    with pytest.raises(ValueError, match="channels"):
        ChannelCrossAttention(0)
    attn = ChannelCrossAttention(4)
    with pytest.raises(ValueError, match="shape"):
        attn(torch.randn(1, 4, 3, 3), torch.randn(1, 4, 3, 4))
