"""NAFNet's building blocks: channel LayerNorm, SimpleGate and the plain NAFNet block.

Written from the NAFNet paper's description (Chen et al., "Simple Baselines for Image
Restoration", ECCV 2022): a block is ``LayerNorm → 1×1 conv (×2 channels) → 3×3 depthwise
conv → SimpleGate → simplified channel attention → 1×1 conv``, added back with a learned
per-channel residual scale ``β``, then ``LayerNorm → 1×1 conv (×2) → SimpleGate → 1×1 conv``
added back with ``γ``. ``β`` and ``γ`` start at zero, so a fresh block is the identity.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_int, to_input_dtype, to_module_dtype
from ..errors import InvalidValueError

__all__ = ["LayerNorm2d", "SimpleGate", "NAFBlock", "layer_norm_2d"]


def layer_norm_2d(x: Tensor, eps: float = 1e-6) -> Tensor:
    """Normalise every pixel over its channels (zero mean, unit variance), no affine.

    Example:
        >>> import torch
        >>> y = layer_norm_2d(torch.randn(2, 8, 4, 4))
        >>> torch.allclose(y.mean(1), torch.zeros(2, 4, 4), atol=1e-5)
        True
    """
    mu = x.mean(dim=1, keepdim=True)
    var = (x - mu).pow(2).mean(dim=1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map, with per-channel scale and shift.

    Args:
        channels: Number of channels ``C``.
        eps: Added to the variance.

    Example:
        >>> import torch
        >>> LayerNorm2d(8)(torch.randn(2, 8, 4, 4)).shape
        torch.Size([2, 8, 4, 4])
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``(B, C, H, W)`` over the channels at each position, then scale and shift per channel."""
        return layer_norm_2d(x, self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


class SimpleGate(nn.Module):
    """Split the channels in two halves and multiply them: ``(B, 2C, H, W) → (B, C, H, W)``.

    Example:
        >>> import torch
        >>> SimpleGate()(torch.randn(1, 8, 4, 4)).shape
        torch.Size([1, 4, 4, 4])
    """

    def forward(self, x: Tensor) -> Tensor:
        """Multiply the first half of the channels by the second half."""
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    """A plain NAFNet block (PyTorch default initialisation, zero residual scales).

    Args:
        channels: Input and output channels ``C``.
        dw_expand: Channel expansion before the depthwise conv (NAFNet: 2).
        ffn_expand: Channel expansion of the feed-forward part (NAFNet: 2).

    Example:
        >>> import torch
        >>> block = NAFBlock(16)
        >>> x = torch.randn(1, 16, 8, 8)
        >>> torch.equal(block(x), x)  # β = γ = 0 at initialisation
        True
    """

    def __init__(self, channels: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        check_int(channels, "channels")
        dw = channels * dw_expand
        ffn = channels * ffn_expand
        if dw % 2 or ffn % 2:
            raise InvalidValueError(
                "`channels × dw_expand` and `channels × ffn_expand` must be even (SimpleGate halves them)."
            )
        self.channels = channels
        self.norm1 = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.gate = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv3 = nn.Conv2d(dw // 2, channels, 1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.norm2 = LayerNorm2d(channels)
        self.conv4 = nn.Conv2d(channels, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) → (B, C, H, W)``, in ``x``'s dtype (computed in the block's)."""
        in_dtype, x = x.dtype, to_module_dtype(x, self)
        y = self.gate(self.conv2(self.conv1(self.norm1(x))))
        y = self.conv3(y * self.sca(y))
        x = x + y * self.beta
        y = self.conv5(self.gate(self.conv4(self.norm2(x))))
        return to_input_dtype(x + y * self.gamma, in_dtype)
