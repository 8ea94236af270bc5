"""``PaddedRestorer``: any image-to-image network run on inputs padded to the size multiple it needs."""

from __future__ import annotations

from torch import Tensor, nn

from .._padding import crop_to, pad_to_multiple

__all__ = ["PaddedRestorer"]


class PaddedRestorer(nn.Module):
    """Run ``net`` on inputs padded to a multiple of ``multiple`` and crop its output back.

    Makes a network that needs sizes divisible by 8 (Restormer) usable as a proxy restorer
    on any crop. Padding reflects where the input is large enough, else replicates
    (:func:`perceive_ir._padding.pad_to_multiple`).

    Args:
        net: The image-to-image network.
        multiple: The size multiple it needs.

    Example:
        >>> import torch
        >>> PaddedRestorer(nn.Identity(), 8)(torch.rand(1, 3, 30, 17)).shape
        torch.Size([1, 3, 30, 17])
    """

    def __init__(self, net: nn.Module, multiple: int) -> None:
        super().__init__()
        self.net = net
        self.multiple = int(multiple)

    def forward(self, x: Tensor) -> Tensor:
        """Pad, restore, crop back."""
        padded, size = pad_to_multiple(x, self.multiple)
        return crop_to(self.net(padded), size)
