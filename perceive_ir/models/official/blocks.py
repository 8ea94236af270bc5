"""The building blocks of the Perceive-IR authors' restorer: Restormer blocks and their guided variant.

Module and parameter names follow the authors' released state dicts (``norm1.body.weight``,
``attention.qkv_dw.weight``, ``pgm.0.affine.0.weight``, ...), so their checkpoints load
strictly, key for key. The computation is the published one:

* :class:`TransformerBlock` — Restormer: multi-Dconv head transposed attention (channel
  attention, :class:`ChannelSelfAttention`) and a gated-Dconv feed-forward network, each
  after a channel layer norm, each residual.
* :class:`GuidedTransformerBlock` — the decoder block of Perceive-IR: prompt-guided cross
  attention (:class:`GuidedCrossAttention`, queries from the guided features, keys and values
  from the block input), then channel self-attention and the feed-forward network.
* :class:`PromptGuidance` — FiLM from ``[semantic ‖ degradation]``: ``x ⊙ (1 + γ) + β``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import InvalidValueError
from ...perceive.cross_attention import channel_attention
from ...perceive.film import film

__all__ = [
    "ChannelLayerNorm",
    "ChannelSelfAttention",
    "Downsample",
    "GatedFeedForward",
    "GuidedCrossAttention",
    "GuidedStage",
    "GuidedTransformerBlock",
    "PromptGuidance",
    "TransformerBlock",
    "Upsample",
]

_EPS = 1e-5
_FFN_EXPANSION = 2.66


class _Affine(nn.Module):
    """Per-channel weight and bias of :class:`ChannelLayerNorm` (kept apart for the key names)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channels of every pixel of a ``(B, C, H, W)`` map (eps ``1e-5``).

    Example:
        >>> norm = ChannelLayerNorm(4)
        >>> y = norm(torch.randn(2, 4, 5, 5))
        >>> torch.allclose(y.mean(dim=1), torch.zeros(2, 5, 5), atol=1e-5)
        True
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.body = _Affine(channels)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise each pixel's channel vector."""
        # the normalised shape from the module, not from x: a constant for tracing and export
        y = F.layer_norm(x.permute(0, 2, 3, 1), (self.channels,), self.body.weight, self.body.bias, _EPS)
        return y.permute(0, 3, 1, 2)


def _pointwise_then_depthwise(channels_in: int, channels_out: int) -> list[nn.Module]:
    """A 1×1 projection followed by a 3×3 depthwise conv: how Restormer makes queries, keys and values."""
    return [
        nn.Conv2d(channels_in, channels_out, 1),
        nn.Conv2d(channels_out, channels_out, 3, padding=1, groups=channels_out),
    ]


class _ChannelAttention(nn.Module):
    """Heads, a learnt temperature per head and the output projection of a channel attention."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise InvalidValueError(f"`channels` ({channels}) must be a multiple of `heads` ({heads}).")
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.project = nn.Conv2d(channels, channels, 1)

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Channel attention of ``q`` over ``k``/``v``, projected."""
        return self.project(channel_attention(q, k, v, self.heads, self.temperature))


class ChannelSelfAttention(_ChannelAttention):
    """Restormer's multi-Dconv head transposed attention (MDTA).

    Args:
        channels: Feature channels (a multiple of ``heads``).
        heads: Attention heads.
    """

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__(channels, heads)
        self.qkv, self.qkv_dw = _pointwise_then_depthwise(channels, channels * 3)

    def forward(self, x: Tensor) -> Tensor:
        """Attend across channels; same shape out."""
        return self.attend(*self.qkv_dw(self.qkv(x)).chunk(3, dim=1))


class GuidedCrossAttention(_ChannelAttention):
    """Prompt-guided cross attention (PGCA): queries from the guided map, keys/values from ``x``.

    Args:
        channels: Feature channels (a multiple of ``heads``).
        heads: Attention heads.
    """

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__(channels, heads)
        self.q = nn.Sequential(*_pointwise_then_depthwise(channels, channels))
        self.kv = nn.Sequential(*_pointwise_then_depthwise(channels, channels * 2))

    def forward(self, x: Tensor, guidance: Tensor) -> Tensor:
        """Attend from ``guidance`` (queries) to ``x`` (keys, values)."""
        return self.attend(self.q(guidance), *self.kv(x).chunk(2, dim=1))


class GatedFeedForward(nn.Module):
    """Restormer's gated-Dconv feed-forward network: ``GELU(a) ⊙ b`` of a depthwise-conv split."""

    def __init__(self, channels: int, expansion: float = _FFN_EXPANSION) -> None:
        super().__init__()
        hidden = int(channels * expansion)
        self.project_in = nn.Conv2d(channels, hidden * 2, 1)
        self.depthwise = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2)
        self.project_out = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Gated feed-forward; same shape out."""
        gate, value = self.depthwise(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(gate) * value)


class TransformerBlock(nn.Module):
    """A Restormer block: ``x + MDTA(LN(x))``, then ``+ FFN(LN(·))``.

    Example:
        >>> block = TransformerBlock(8, heads=2)
        >>> block(torch.rand(1, 8, 6, 6)).shape
        torch.Size([1, 8, 6, 6])
    """

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(channels)
        self.attention = ChannelSelfAttention(channels, heads)
        self.norm2 = ChannelLayerNorm(channels)
        self.ffn = GatedFeedForward(channels)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block."""
        x = x + self.attention(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class GuidedTransformerBlock(nn.Module):
    """The Perceive-IR decoder block.

    ``c = PGCA(LN(x), LN(g))``; ``y = g + MDTA(LN(c))``; ``y + FFN(LN(y))``, where ``g`` is the
    prompt-guided (FiLM-modulated) map of the level. As in the authors' code, the residual
    of the attention part is the guided map ``g``, not ``x``.
    """

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(channels)
        self.guidance_norm = ChannelLayerNorm(channels)
        self.attention = GuidedCrossAttention(channels, heads)
        self.mdta_norm = ChannelLayerNorm(channels)
        self.mdta = ChannelSelfAttention(channels, heads)
        self.norm2 = ChannelLayerNorm(channels)
        self.ffn = GatedFeedForward(channels)

    def forward(self, x: Tensor, guidance: Tensor) -> Tensor:
        """Apply the block to ``x`` with the level's guided map ``guidance`` (same shape)."""
        cross = self.attention(self.norm1(x), self.guidance_norm(guidance))
        y = guidance + self.mdta(self.mdta_norm(cross))
        return y + self.ffn(self.norm2(y))


class GuidedStage(nn.Module):
    """``depth`` guided blocks in a row, every one with the same guided map."""

    def __init__(self, channels: int, heads: int, depth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(GuidedTransformerBlock(channels, heads) for _ in range(depth))

    def forward(self, x: Tensor, guidance: Tensor) -> Tensor:
        """Run the blocks."""
        for block in self.blocks:
            x = block(x, guidance)
        return x


class Downsample(nn.Module):
    """Halve the resolution, double the channels: 3×3 conv to ``C/2`` then pixel-unshuffle."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels // 2, 3, padding=1), nn.PixelUnshuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` → ``(B, 2C, H/2, W/2)``."""
        return self.body(x)


class Upsample(nn.Module):
    """Double the resolution, halve the channels: 3×3 conv to ``2C`` then pixel-shuffle."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels * 2, 3, padding=1), nn.PixelShuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` → ``(B, C/2, 2H, 2W)``."""
        return self.body(x)


class PromptGuidance(nn.Module):
    """FiLM of one level from ``[semantic ‖ degradation]``: ``x ⊙ (1 + γ) + β``.

    ``Linear(semantic_dim + degradation_dim → 2C) → GELU → Linear(2C → 2C)`` gives ``(γ, β)``.
    """

    def __init__(self, channels: int, semantic_dim: int, degradation_dim: int = 128) -> None:
        super().__init__()
        self.affine = nn.Sequential(
            nn.Linear(semantic_dim + degradation_dim, channels * 2), nn.GELU(), nn.Linear(channels * 2, channels * 2)
        )

    def forward(self, x: Tensor, semantic: Tensor, degradation: Tensor) -> Tensor:
        """Modulate ``x`` ``(B, C, H, W)`` with ``(B, semantic_dim)`` and ``(B, degradation_dim)`` vectors."""
        gamma, beta = self.affine(torch.cat((semantic, degradation), dim=-1)).chunk(2, dim=-1)
        return film(x, gamma, beta)
