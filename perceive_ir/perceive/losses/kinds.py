"""Stage-2 loss kinds: the registry a recipe's ``loss.kind`` selects from.

Two kinds are built in: ``"quality"`` (the paper's :class:`~perceive_ir.perceive.losses.QualityAwareLoss`
with the stage-1 perceiver) and ``"l1"`` (the plain baseline). A kind is a factory that takes
the recipe's :class:`LossSettings` and returns the loss the stage-2 trainer uses: a
:class:`~perceive_ir.perceive.losses.QualityAwareLoss`, or ``"l1"`` for the L1 baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from ..._registry import Registry
from ...errors import InvalidValueError
from ..perceiver import QualityPerceiver
from .proxies import Proxy
from .quality_aware import QualityAwareLoss

__all__ = ["LOSS_KINDS", "LossFactory", "LossSettings"]


def _no_proxies() -> list[Proxy]:
    """No proxy restorers: the default of :attr:`LossSettings.load_proxies`."""
    return []


@dataclass(frozen=True)
class LossSettings:
    """What a loss kind's factory is given: the recipe's ``loss`` section, resolved.

    Attributes:
        perceiver: Folder or Hub id of the stage-1 quality perceiver (``None`` when not given).
        weights: The term weights (``rec``, ``cl``, ``clip``, ``dpl``), or ``None`` for the defaults.
        options: The other :class:`~perceive_ir.perceive.losses.QualityAwareLoss` arguments the
            recipe set (``feature_space``, ``difficulty``, ``degenerate``, ``clip_logit_scale``).
        load_proxies: Builds the proxy restorers the recipe names (the medium negatives); a kind
            that does not use them never calls it, so nothing is loaded.

    Example:
        >>> LossSettings(perceiver="runs/perceiver", options={"difficulty": "proxy_psnr"}).load_proxies()
        []
    """

    perceiver: str | None = None
    weights: Mapping[str, float] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    # a default factory, so that the dataclass keeps no function as a class attribute (the docs would list a method)
    load_proxies: Callable[[], Sequence[Proxy]] = field(default_factory=lambda: _no_proxies)


#: What a :data:`LOSS_KINDS` entry is: a factory from :class:`LossSettings` to a loss (or ``"l1"``).
LossFactory = Callable[[LossSettings], Union[QualityAwareLoss, str]]


def _quality_loss(settings: LossSettings) -> QualityAwareLoss:
    if not settings.perceiver:
        raise InvalidValueError("The loss kind 'quality' needs the stage-1 perceiver: set `loss.perceiver`.")
    perceiver = QualityPerceiver.from_pretrained(str(settings.perceiver))
    return QualityAwareLoss(perceiver, weights=settings.weights, proxies=list(settings.load_proxies()),
                            **settings.options)


def _l1_loss(settings: LossSettings) -> str:
    return "l1"


LOSS_KINDS: Registry[LossFactory] = Registry(
    "loss kind (`loss.kind`)",
    {"quality": _quality_loss, "l1": _l1_loss},
    how_to_add="add one with perceive_ir.perceive.losses.LOSS_KINDS.register(name, factory)",
    error=InvalidValueError,
)
"""The stage-2 loss kinds a recipe's ``loss.kind`` selects.

Each entry is a factory ``(LossSettings) -> QualityAwareLoss | "l1"``. Register your own, e.g. the
quality-aware loss without ``L_clip``, and name it in the recipe (``loss: {kind: no_clip, ...}``):

Example:
    >>> def no_clip(settings):
    ...     perceiver = QualityPerceiver.from_pretrained(settings.perceiver)
    ...     return QualityAwareLoss(perceiver, weights={**(settings.weights or {}), "clip": 0.0},
    ...                             proxies=list(settings.load_proxies()), **settings.options)
    >>> LOSS_KINDS.register("no_clip", no_clip, overwrite=True)
"""
