"""Channel (transposed) cross-attention between a modulated feature map and its original.

Perceive-IR optionally follows the FiLM modulation of a guided level with a cross-attention
in which the modulated features ``Y`` ask (queries) and the original features ``X`` answer
(keys and values). Attention runs across channels, Restormer style, so its cost is linear in
the number of pixels: the attention map is ``C/h × C/h`` per head, whatever the image size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .._validation import check_int, to_input_dtype, to_module_dtype
from ..errors import InvalidValueError

__all__ = ["ChannelCrossAttention", "channel_attention", "default_num_heads"]


def default_num_heads(channels: int, min_head_dim: int = 32) -> int:
    """The largest head count in ``(8, 4, 2, 1)`` leaving heads of at least ``min_head_dim`` channels.

    The count must divide ``channels``; narrow maps get 1 head.
    With ``min_head_dim=32`` this reproduces Restormer's choice for its widths 48, 96, 192 and
    384 (1, 2, 4 and 8 heads).

    Example:
        >>> [default_num_heads(c) for c in (16, 48, 96, 192, 384)]
        [1, 1, 2, 4, 8]
    """
    check_int(channels, "channels")
    for heads in (8, 4, 2):
        if channels % heads == 0 and channels // heads >= min_head_dim:
            return heads
    return 1


def channel_attention(q: Tensor, k: Tensor, v: Tensor, heads: int, temperature: Tensor) -> Tensor:
    """Restormer's transposed attention: a ``(C/h × C/h)`` map per head from L2-normalised pixel vectors.

    Args:
        q: ``(B, C, H, W)`` queries.
        k: ``(B, C, H, W)`` keys.
        v: ``(B, C, H, W)`` values.
        heads: Attention heads (dividing ``C``).
        temperature: ``(heads, 1, 1)`` learnt scales of the attention logits.

    Returns:
        ``(B, C, H, W)``: the values mixed across channels, head by head.

    Example:
        >>> import torch
        >>> x = torch.randn(1, 8, 5, 6)
        >>> channel_attention(x, x, x, heads=2, temperature=torch.ones(2, 1, 1)).shape
        torch.Size([1, 8, 5, 6])
    """
    height, width = v.shape[-2:]
    q, k, v = (rearrange(t, "b (h c) y x -> b h c (y x)", h=heads) for t in (q, k, v))
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    attention = (q @ k.transpose(-2, -1) * temperature).softmax(dim=-1)
    return rearrange(attention @ v, "b h c (y x) -> b (h c) y x", y=height, x=width)


class ChannelCrossAttention(nn.Module):
    """Multi-head transposed cross-attention: queries from ``y``, keys/values from ``x``.

    ``q = DW3×3(Conv1×1(y))``, ``k, v = split(DW3×3(Conv1×1(x)))``; per head, ``q`` and ``k``
    are L2-normalised along the pixels, the ``(C/h)×(C/h)`` channel affinity is scaled by a
    learnable temperature (one per head, initialised to 1) and soft-maxed, and applied to
    ``v``. A 1×1 output projection, zero-initialised, is added to ``y``: at initialisation
    the module returns ``y`` exactly.

    Args:
        channels: Channels ``C`` of both inputs.
        num_heads: Attention heads; must divide ``channels``. ``None`` picks
            :func:`default_num_heads`.
        bias: Bias in the q/k/v projections (Restormer uses none).

    Example:
        >>> import torch
        >>> attn = ChannelCrossAttention(16)
        >>> x = torch.randn(2, 16, 8, 8); y = x + 1
        >>> torch.equal(attn(y, x), y)  # identity at initialisation
        True
    """

    def __init__(self, channels: int, num_heads: int | None = None, bias: bool = False) -> None:
        super().__init__()
        check_int(channels, "channels")
        num_heads = default_num_heads(channels) if num_heads is None else num_heads
        if not isinstance(num_heads, int) or num_heads < 1 or channels % num_heads:
            raise InvalidValueError(
                f"`num_heads` must be a positive divisor of channels={channels}, got {num_heads!r}."
            )
        self.channels = channels
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.q = nn.Sequential(
            nn.Conv2d(channels, channels, 1, bias=bias),
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=bias),
        )
        self.kv = nn.Sequential(
            nn.Conv2d(channels, 2 * channels, 1, bias=bias),
            nn.Conv2d(2 * channels, 2 * channels, 3, padding=1, groups=2 * channels, bias=bias),
        )
        proj_out = nn.Conv2d(channels, channels, 1, bias=True)
        nn.init.zeros_(proj_out.weight)
        if proj_out.bias is not None:  # it has one (bias=True); the check tells the type checker
            nn.init.zeros_(proj_out.bias)
        self.proj_out = proj_out

    def forward(self, y: Tensor, x: Tensor) -> Tensor:
        """Attend from ``y`` to ``x`` and add the result to ``y``.

        Args:
            y: ``(B, C, H, W)`` queries (the FiLM-modulated features).
            x: ``(B, C, H, W)`` keys and values (the original features).

        Returns:
            ``(B, C, H, W)``: ``y + proj_out(attention)``, in ``y``'s dtype (computed in the module's).
        """
        if y.ndim != 4 or y.shape != x.shape or y.shape[1] != self.channels:
            raise InvalidValueError(
                f"`y` and `x` must both have shape (B, {self.channels}, H, W), got {tuple(y.shape)} "
                f"and {tuple(x.shape)}."
            )
        in_dtype, y, x = y.dtype, to_module_dtype(y, self), to_module_dtype(x, self)
        k, v = self.kv(x).chunk(2, dim=1)
        out = channel_attention(self.q(y), k, v, self.num_heads, self.temperature)
        return to_input_dtype(y + self.proj_out(out), in_dtype)

    def extra_repr(self) -> str:
        """Channels and head count, shown in the module's ``repr``."""
        return f"channels={self.channels}, num_heads={self.num_heads}"
