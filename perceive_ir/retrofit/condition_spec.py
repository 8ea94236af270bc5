"""Describe condition sources in a config file, and rebuild them from it.

A wrapped backbone may be conditioned on any :class:`~perceive_ir.retrofit.condition.ConditionSource`
module. To save it, each source is described in ``config.json``:

* a :class:`~perceive_ir.hub.HubMixin` module (the built-in CFE, AMIRNet's degradation tree,
  or a user's own HubMixin class): ``{"type": "hub", "class", "module", "config", "cond_dim"}``
  — rebuilt from its config on load, its weights come from the adapter file;
* any other module: ``{"type": "user", "class", "module", "cond_dim"}`` — it cannot be rebuilt
  from the file, so ``from_pretrained`` must be given ``condition=`` again.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from torch import nn

from ..errors import InvalidTypeError, InvalidValueError
from ..hub import HubMixin

__all__ = ["describe_condition", "build_condition", "check_condition_source"]


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
    if isinstance(source, HubMixin):
        try:
            config = source.get_config()
        except NotImplementedError:
            config = None
        if config is not None:
            return {"type": "hub", **spec, "config": config}
    return {"type": "user", **spec}


def _all_hub_classes() -> list[type]:
    seen, stack = [], list(HubMixin.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return seen


def _resolve_class(spec: dict[str, Any]) -> type:
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
    user = [s.get("class") for s in specs if s.get("type") != "hub"]
    if user:
        raise InvalidTypeError(
            f"The saved model is conditioned on user module(s) {user}, which cannot be rebuilt from the file: "
            "pass them again, e.g. `WrappedBackbone.from_pretrained(folder, backbone=net, condition=my_source)` "
            "(their weights are then loaded from the file)."
        )
    return [_resolve_class(s)._from_config(dict(s["config"])) for s in specs]
