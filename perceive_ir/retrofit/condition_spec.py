"""Describe condition sources in a config file, and rebuild them from it.

A wrapped backbone may be conditioned on any :class:`~perceive_ir.retrofit.condition.ConditionSource`
module. To save it, each source is described in ``config.json``:

* a :class:`~perceive_ir.hub.HubMixin` module (the built-in CFE, AMIRNet's degradation tree,
  or a user's own HubMixin class): ``{"type": "hub", "class", "module", "config", "cond_dim"}``
  — rebuilt from its config on load, its weights come from the adapter file;
* any other module: ``{"type": "user", "class", "module", "cond_dim"}`` — it cannot be rebuilt
  from the file, so ``from_pretrained`` must be given ``condition=`` again.

The ``"type"`` is a name in :data:`CONDITION_KINDS`, a registry of :class:`ConditionKind` entries
(how a kind describes a source, and the factory that rebuilds one from its description). Register
your own kind so that modules of yours are rebuilt on load instead of passed again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from .._registry import Registry
from ..errors import InvalidTypeError, InvalidValueError
from ..hub import HubMixin

__all__ = ["CONDITION_KINDS", "ConditionKind", "build_condition", "check_condition_source", "describe_condition"]


@dataclass(frozen=True)
class ConditionKind:
    """One kind of condition source in ``config.json``: how a source is described, and rebuilt.

    Attributes:
        describe: ``source -> extra fields`` of the description (beside ``type``, ``class``,
            ``module`` and ``cond_dim``), or ``None`` when the kind does not apply to ``source``.
        build: The factory ``description -> module`` that rebuilds a source on load (its weights
            then come from the adapter file); ``None``: the kind cannot be rebuilt, and the
            source must be passed again with ``condition=``.

    Example:
        >>> import torch
        >>> class Fixed(torch.nn.Module):
        ...     cond_dim = 4
        ...     def forward(self, x):
        ...         return x.new_zeros(x.shape[0], 4)
        >>> kind = ConditionKind(describe=lambda source, cls=Fixed: {} if isinstance(source, cls) else None,
        ...                      build=lambda spec, cls=Fixed: cls())
        >>> CONDITION_KINDS.register("fixed_example", kind, overwrite=True)
        >>> spec = describe_condition(Fixed())
        >>> spec["type"], type(build_condition([spec], None)[0]).__name__
        ('fixed_example', 'Fixed')
    """

    describe: Callable[[nn.Module], dict[str, Any] | None]
    build: Callable[[dict[str, Any]], nn.Module] | None = None


def check_condition_source(source: object, name: str = "condition") -> int:
    """Return ``source.cond_dim`` after checking that ``source`` is a condition-source module.

    Example:
        >>> from perceive_ir.perceive.cfe import CompactFeatureExtractor
        >>> check_condition_source(CompactFeatureExtractor(dim=16))
        16
    """
    if not isinstance(source, nn.Module):
        raise InvalidTypeError(
            f"`{name}` must be an nn.Module with a `cond_dim` attribute whose forward maps (B, 3, H, W) "
            f"images to (B, cond_dim), got {type(source).__name__}."
        )
    dim = getattr(source, "cond_dim", None)
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise InvalidTypeError(
            f"`{name}` ({type(source).__name__}) must have a positive int attribute `cond_dim` "
            f"(the ConditionSource protocol), got {dim!r}."
        )
    return dim


def describe_condition(source: nn.Module) -> dict[str, Any]:
    """JSON-safe description of one condition source.

    Example:
        >>> from perceive_ir.perceive.cfe import CompactFeatureExtractor
        >>> describe_condition(CompactFeatureExtractor(dim=16))["config"]
        {'in_channels': 3, 'dim': 16}
    """
    dim = check_condition_source(source)
    cls = type(source)
    spec: dict[str, Any] = {"class": cls.__qualname__, "module": cls.__module__, "cond_dim": dim}
    for kind in reversed(list(CONDITION_KINDS)):  # the latest registered first; "user" applies to any module
        extra = CONDITION_KINDS[kind].describe(source)
        if extra is not None:
            return {"type": kind, **spec, **extra}
    raise InvalidTypeError(f"No condition kind describes {cls.__qualname__}.")  # pragma: no cover - "user" does


def _all_hub_classes() -> list[type]:
    seen, stack = [], list(HubMixin.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return seen


def _resolve_class(spec: dict[str, Any]) -> type[HubMixin]:
    name, module = spec.get("class"), spec.get("module", "")
    if isinstance(module, str) and (module == "perceive_ir" or module.startswith("perceive_ir.")):
        cls = getattr(importlib.import_module(module), str(name), None)
        if isinstance(cls, type) and issubclass(cls, HubMixin):
            return cls
    for cls in _all_hub_classes():
        if cls.__qualname__ == name and cls.__module__ == module:
            return cls
    raise InvalidTypeError(
        f"The saved condition source {name!r} from module {module!r} is not an imported HubMixin class. "
        f"Import `{module}` before loading, or pass the module again with `condition=`."
    )


def build_condition(
    specs: Sequence[dict[str, Any]], given: nn.Module | Sequence[nn.Module] | None
) -> list[nn.Module]:
    """Rebuild the condition sources described by ``specs``, or check the ones the caller gave.

    Raises:
        TypeError: a source cannot be rebuilt and ``given`` is ``None``.
        ValueError: ``given`` does not match the saved description (count or ``cond_dim``).

    Example:
        >>> from perceive_ir.perceive.cfe import CompactFeatureExtractor
        >>> spec = describe_condition(CompactFeatureExtractor(dim=16))
        >>> type(build_condition([spec], None)[0]).__name__
        'CompactFeatureExtractor'
    """
    if given is not None:
        sources = [given] if isinstance(given, nn.Module) else list(given)
        if len(sources) != len(specs):
            raise InvalidValueError(
                f"`condition` must hold {len(specs)} source(s) like the saved model "
                f"({[s.get('class') for s in specs]}), got {len(sources)}."
            )
        for i, (source, spec) in enumerate(zip(sources, specs, strict=True)):
            if source == "cfe":
                continue
            dim = check_condition_source(source, f"condition[{i}]")
            if dim != spec.get("cond_dim"):
                raise InvalidValueError(
                    f"`condition[{i}]` has cond_dim={dim} but the saved model's source {spec.get('class')!r} "
                    f"had cond_dim={spec.get('cond_dim')}."
                )
        return sources
    kinds = [CONDITION_KINDS[str(s.get("type"))] for s in specs]
    user = [s.get("class") for s, kind in zip(specs, kinds, strict=True) if kind.build is None]
    if user:
        raise InvalidTypeError(
            f"The saved model is conditioned on user module(s) {user}, which cannot be rebuilt from the file: "
            "pass them again, e.g. `WrappedBackbone.from_pretrained(folder, backbone=net, condition=my_source)` "
            "(their weights are then loaded from the file)."
        )
    return [kind.build(dict(s)) for s, kind in zip(specs, kinds, strict=True) if kind.build is not None]


def _describe_hub(source: nn.Module) -> dict[str, Any] | None:
    """``{"config": ...}`` for a HubMixin module whose config is known, else ``None``."""
    if not isinstance(source, HubMixin):
        return None
    try:
        config = source.get_config()
    except NotImplementedError:
        return None
    return None if config is None else {"config": config}


def _build_hub(spec: dict[str, Any]) -> nn.Module:
    module = _resolve_class(spec)._from_config(dict(spec["config"]))
    assert isinstance(module, nn.Module)
    return module


CONDITION_KINDS: Registry[ConditionKind] = Registry(
    "condition kind",
    {
        "user": ConditionKind(describe=lambda source: {}),  # any module; passed again on load
        "hub": ConditionKind(describe=_describe_hub, build=_build_hub),
    },
    how_to_add=(
        "register it with perceive_ir.retrofit.CONDITION_KINDS.register(name, ConditionKind(...)) before loading, "
        "or pass the sources again with `condition=`"
    ),
    error=InvalidTypeError,
)
"""The kinds of condition source a saved wrapped model's ``config.json`` names (``"hub"``, ``"user"``).

Each entry is a :class:`ConditionKind`; kinds registered later are tried first when a source is
described, and ``"user"`` (any module, passed again on load) comes last. An unknown kind in a
file raises a ``TypeError`` that lists the registered kinds.
"""
