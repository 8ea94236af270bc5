"""The medium-tier restorers of the cross-fitted triplet build, by name.

The paper renders the medium quality tier with a Restormer trained on one half of the scenes:
the authors' ``RestormerMedium`` (``stage1.py``; ``perceiveIR_stage1.yaml`` ``model``: dim 48,
blocks [4, 6, 6, 8], heads [1, 2, 4, 8], 4 refinement blocks; 25,571,439 parameters), which is
:class:`~perceive_ir.models.official.MediumRestorer` here: :data:`DEFAULT_MEDIUM_RESTORER`.
Its checkpoints load the authors' ``holdout_k/medium_020000.pth`` (``load_official``).
The others serve other purposes:

=====================  ==========================================================  ========
name                   network                                                     multiple
=====================  ==========================================================  ========
``restormer-medium``   the authors' ``RestormerMedium`` (25.57 M) — the default      8
``restormer``          spandrel's Restormer at the same sizes (26.13 M: bias-free    8
                       LayerNorm, 96-channel decoder level 1) [ours: the default
                       before; kept so earlier builds' checkpoints still load]
``restormer-small``    Restormer dim 16, one block per level (0.8 M), CPU runs       8
``tiny``               :class:`TinyRestorer`, a few residual convolutions, tests     1
=====================  ==========================================================  ========
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ..errors import InvalidValueError
from ..inference.tiling import pad_to_multiple
from ..models.official import MediumRestorer
from ..models.presets import restormer_backbone

__all__ = [
    "DEFAULT_MEDIUM_RESTORER",
    "MEDIUM_RESTORERS",
    "PaddedRestorer",
    "TinyRestorer",
    "medium_restorer",
]


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
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Add the predicted residual to ``x`` (the identity at initialisation: the last conv is zero)."""
        return x + self.body(x)


def _restormer() -> nn.Module:
    return restormer_backbone("paper")


def _restormer_small() -> nn.Module:
    return restormer_backbone("small")


#: Name → (factory of a fresh network, size multiple its input needs).
MEDIUM_RESTORERS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "restormer-medium": (MediumRestorer, 8),
    "restormer": (_restormer, 8),
    "restormer-small": (_restormer_small, 8),
    "tiny": (TinyRestorer, 1),
}

#: The paper's medium-tier restorer: the authors' ``RestormerMedium``.
DEFAULT_MEDIUM_RESTORER = "restormer-medium"


def medium_restorer(name: str) -> tuple[Callable[[], nn.Module], int]:
    """The factory and input multiple of a named medium restorer (:data:`MEDIUM_RESTORERS`).

    Raises:
        ValueError: unknown name.

    Example:
        >>> factory, multiple = medium_restorer("tiny")
        >>> type(factory()).__name__, multiple
        ('TinyRestorer', 1)
    """
    if name not in MEDIUM_RESTORERS:
        raise InvalidValueError(
            f"Unknown medium restorer {name!r}; known: {sorted(MEDIUM_RESTORERS)} (or pass a factory)."
        )
    return MEDIUM_RESTORERS[name]


class PaddedRestorer(nn.Module):
    """Run ``net`` on inputs padded to a multiple of ``multiple`` and crop its output back.

    Makes a network that needs sizes divisible by 8 (Restormer) usable as a proxy restorer
    on any crop.

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
        padded, (h, w) = pad_to_multiple(x, self.multiple)
        return self.net(padded)[..., :h, :w]
