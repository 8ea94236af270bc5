"""Input adapters: turn the RGB image into what a network takes, when that is more than the image.

Some restoration networks take extra input channels: DRUNet and FDnCNN a noise-level map
beside the RGB image. Give such a network an input adapter — to
:func:`~perceive_ir.retrofit.wrap.wrap_backbone` (``input_adapter=``, used in the dry run and
in every forward) or, for a plain network, through :class:`AdaptedInput` — and it takes
``(B, 3, H, W)`` images like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InvalidTypeError, InvalidValueError

__all__ = ["AdaptedInput", "NoiseLevelMap"]


class NoiseLevelMap(nn.Module):
    """Append constant noise-level channel(s): ``(B, C, H, W) → (B, C + channels, H, W)``.

    DRUNet and FDnCNN take the noise standard deviation (in ``[0, 1]`` units: 15/255 is
    their usual default, as in spandrel) as an extra input channel.

    Args:
        level: The noise standard deviation written into the map.
        channels: How many such channels to append.

    Example:
        >>> import torch
        >>> NoiseLevelMap(0.1)(torch.zeros(2, 3, 4, 5)).shape
        torch.Size([2, 4, 4, 5])
    """

    def __init__(self, level: float = 15 / 255, channels: int = 1) -> None:
        super().__init__()
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 1:
            raise InvalidValueError(f"`level` must be a noise standard deviation in [0, 1], got {level!r}.")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise InvalidValueError(f"`channels` must be an int of at least 1, got {channels!r}.")
        self.level = float(level)
        self.channels = channels

    def forward(self, image: Tensor) -> Tensor:
        """The image with the noise-level channel(s) appended."""
        b, _, h, w = image.shape
        level = torch.full((b, self.channels, h, w), self.level, dtype=image.dtype, device=image.device)
        return torch.cat([image, level], dim=1)

    def extra_repr(self) -> str:
        """``level=…, channels=…`` in the module's repr."""
        return f"level={self.level:.6g}, channels={self.channels}"


class AdaptedInput(nn.Module):
    """A plain network behind an input adapter: ``forward(x) = network(adapter(x))``.

    Args:
        network: The network.
        adapter: A module or callable applied to the input first (e.g. :class:`NoiseLevelMap`).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = AdaptedInput(nn.Conv2d(4, 3, 1), NoiseLevelMap(0.1))
        >>> net(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(self, network: nn.Module, adapter: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        if not isinstance(network, nn.Module):
            raise InvalidTypeError(f"`network` must be a torch.nn.Module, got {type(network).__name__}.")
        if not callable(adapter):
            raise InvalidTypeError(f"`adapter` must be a module or callable, got {type(adapter).__name__}.")
        self.network = network
        self.adapter = adapter

    def forward(self, image: Tensor) -> Any:
        """``network(adapter(image))``."""
        return self.network(self.adapter(image))
