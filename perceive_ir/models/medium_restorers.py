"""The medium-tier restorers of the cross-fitted triplet build, by name: :data:`MEDIUM_RESTORERS`.

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
``tiny``               :class:`~perceive_ir.models.tiny_restorer.TinyRestorer`, a    1
                       few residual convolutions, tests
=====================  ==========================================================  ========

Each entry is a :class:`MediumRestorerEntry`, a factory of a fresh network that also knows the
size multiple its input needs. Register your own from user code, then name it as
``restorer_factory`` of :func:`~perceive_ir.training.triplets.build_triplets`::

    MEDIUM_RESTORERS.register("mine", MediumRestorerEntry(MyNet, multiple=4))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import nn

from .._registry import Registry
from ..errors import InvalidValueError
from .official import MediumRestorer
from .presets import restormer_backbone
from .tiny_restorer import TinyRestorer

__all__ = [
    "DEFAULT_MEDIUM_RESTORER",
    "MEDIUM_RESTORERS",
    "MediumRestorerEntry",
    "medium_restorer",
]


class MediumRestorerEntry(NamedTuple):
    """A named medium restorer: the factory of a fresh network and the size multiple it needs.

    Calling the entry builds a network, so an entry is a factory like any other. It unpacks as
    ``factory, multiple``.

    Attributes:
        factory: Builds a fresh, untrained ``nn.Module``.
        multiple: The multiple its input's height and width must be (1: any size).

    Example:
        >>> entry = MediumRestorerEntry(TinyRestorer, 1)
        >>> type(entry()).__name__, entry.multiple
        ('TinyRestorer', 1)
    """

    factory: Callable[[], nn.Module]
    multiple: int = 1

    def __call__(self) -> nn.Module:
        """A fresh network."""
        return self.factory()


def _restormer() -> nn.Module:
    return restormer_backbone("paper")


def _restormer_small() -> nn.Module:
    return restormer_backbone("small")


#: Name → :class:`MediumRestorerEntry` (factory of a fresh network, size multiple its input needs).
MEDIUM_RESTORERS: Registry[MediumRestorerEntry] = Registry(
    "medium restorer",
    {
        "restormer-medium": MediumRestorerEntry(MediumRestorer, 8),
        "restormer": MediumRestorerEntry(_restormer, 8),
        "restormer-small": MediumRestorerEntry(_restormer_small, 8),
        "tiny": MediumRestorerEntry(TinyRestorer, 1),
    },
    how_to_add="pass a factory, or register one with MEDIUM_RESTORERS.register(name, MediumRestorerEntry(...))",
    error=InvalidValueError,
)

#: The paper's medium-tier restorer: the authors' ``RestormerMedium``.
DEFAULT_MEDIUM_RESTORER = "restormer-medium"


def medium_restorer(name: str) -> MediumRestorerEntry:
    """The factory and input multiple of a named medium restorer (:data:`MEDIUM_RESTORERS`).

    A plain factory registered without a multiple counts as multiple 1.

    Raises:
        ValueError: unknown name (the message lists the known ones).

    Example:
        >>> factory, multiple = medium_restorer("tiny")
        >>> type(factory()).__name__, multiple
        ('TinyRestorer', 1)
    """
    entry = MEDIUM_RESTORERS[name]
    if isinstance(entry, MediumRestorerEntry):
        return entry
    return MediumRestorerEntry(entry, 1)  # a bare factory registered from user code
