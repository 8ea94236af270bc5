"""``TinyRestorer``: a deliberately weak residual network, the quick medium restorer of tests and CPU demos."""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import InvalidValueError

__all__ = ["TinyRestorer"]


class TinyRestorer(nn.Module):
    """``x + f(x)`` with ``f`` a few 3×3 convs; the last conv starts at zero (identity at init).

    Deliberately weak: its outputs are *partially* restored images, the medium quality tier.

    Args:
        width: Feature channels.
        depth: Number of hidden conv layers.

    Example:
        >>> import torch
        >>> net = TinyRestorer()
        >>> x = torch.rand(1, 3, 16, 16)
        >>> bool(torch.equal(net(x), x))
        True
    """

    def __init__(self, width: int = 32, depth: int = 4) -> None:
        super().__init__()
        if width < 1 or depth < 1:
            raise InvalidValueError(f"`width` and `depth` must be >= 1, got {width}, {depth}.")
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        last = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(last.weight)
        if last.bias is not None:  # always: the conv has a bias
            nn.init.zeros_(last.bias)
        layers.append(last)
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Add the predicted residual to ``x`` (the identity at initialisation: the last conv is zero)."""
        return x + self.body(x)
