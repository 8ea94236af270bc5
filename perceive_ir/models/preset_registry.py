"""The registry of model presets: the names :func:`~perceive_ir.models.create_model` builds.

:func:`register_model` adds one (the built-in ones are registered in
:mod:`perceive_ir.models.presets`); :func:`list_models` names them. The factory builds from them;
:func:`~perceive_ir.models.sources.parse_source` reads their names. Both import this module,
which imports neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from .._registry import Registry
from ..errors import InvalidTypeError, InvalidValueError
from ..retrofit.wrap import _current_spellings

__all__ = ["ModelPreset", "list_models", "preset_is_wrapped", "register_model"]


@dataclass(frozen=True)
class ModelPreset:
    """A registered model.

    Attributes:
        build: Builds the network from keyword arguments: the bare backbone when ``wrap`` is
            set, else the complete network.
        wrap: :func:`~perceive_ir.retrofit.wrap.wrap_backbone` options of the preset (layers,
            cross-attention, padding ``multiple``), or ``None`` for a network used as it is built.
    """

    build: Callable[..., nn.Module]
    wrap: Mapping[str, Any] | None = None


_MODELS: Registry[ModelPreset] = Registry(
    "model", how_to_add="add one with perceive_ir.models.register_model", error=InvalidValueError
)


def register_model(
    name: str,
    build: Callable[..., nn.Module],
    *,
    wrap: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> None:
    """Make ``create_model(name, ...)`` build a network with ``build``.

    Args:
        name: The preset name.
        build: Called with keyword arguments; returns the bare backbone (``wrap`` given) or the
            complete network (``wrap`` is ``None``).
        wrap: Default ``wrap_backbone`` options: ``create_model`` wraps the backbone with them
            (its own keyword arguments override them). The deprecated spellings (``pad_to`` for
            ``multiple``) are accepted with a ``DeprecationWarning`` for one release.
        overwrite: Replace an existing preset of that name.

    Raises:
        ValueError: ``name`` is empty or taken (and ``overwrite`` is False); ``wrap`` holds
            ``multiple`` and its deprecated spelling ``pad_to``.
        TypeError: ``build`` is not callable.

    Example:
        >>> from torch import nn
        >>> register_model("identity-demo", lambda **kw: nn.Identity(), overwrite=True)
        >>> from perceive_ir.models import create_model
        >>> type(create_model("identity-demo")).__name__
        'Identity'
    """
    if not callable(build):
        raise InvalidTypeError(f"`build` must be callable, got {type(build).__name__}.")
    options = None if wrap is None else _current_spellings(wrap, "register_model")
    _MODELS.register(name, ModelPreset(build, options), overwrite=overwrite)


def list_models() -> list[str]:
    """Names :func:`create_model` knows.

    Example:
        >>> "restormer-small" in list_models()
        True
    """
    return _MODELS.names()


def preset_is_wrapped(name: str) -> bool:
    """Whether preset ``name`` is a backbone :func:`create_model` wraps (``False``: a network built as it is).

    Raises:
        ValueError: unknown name.

    Example:
        >>> preset_is_wrapped("restormer"), preset_is_wrapped("perceiveirnet")
        (True, False)
    """
    return _MODELS[name].wrap is not None
