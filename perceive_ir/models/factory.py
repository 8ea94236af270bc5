"""The model factory: the one place where a model name or a saved model becomes a network.

* :func:`create_model` builds a registered preset by name (``restormer``, ``nafnet-small``,
  ``amirnet``, ... — :func:`list_models`), optionally with the backbone's weights.
* :func:`load_model` resolves anything a user may point at — a preset name, a local folder
  written by :func:`~perceive_ir.models.checkpoint.save_restoration_model`, a checkpoint file
  of a plain network (spandrel), a Hub repository id, plus backbone weights — into a
  :class:`LoadedModel`: the network, the size multiple its inputs need and what was loaded.

The CLI, the recipes and the demo all build and load networks through these two functions;
:func:`register_model` adds a preset (the built-in ones live in :mod:`perceive_ir.models.presets`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from .._official_format import load_official_checkpoint
from .._registry import Registry
from ..errors import InvalidTypeError, InvalidValueError, MissingFileError
from ..hub import saved_class
from ..retrofit.wrap import WrappedBackbone, wrap_backbone
from .checkpoint import load_restoration_model
from .official import MediumRestorer, PerceiveIRNet
from .official.checkpoint import detect_official_kind, read_official_mapping
from .official.unet import RestormerUNet
from .user_network import load_user_descriptor, rgb_network

__all__ = [
    "LoadedModel",
    "ModelPreset",
    "create_model",
    "list_models",
    "load_model",
    "model_multiple",
    "preset_is_wrapped",
    "register_model",
]


@dataclass(frozen=True)
class ModelPreset:
    """A registered model.

    Attributes:
        build: Builds the network from keyword arguments: the bare backbone when ``wrap`` is
            set, else the complete network.
        wrap: :func:`~perceive_ir.retrofit.wrap.wrap_backbone` options of the preset (layers,
            cross-attention, padding), or ``None`` for a network used as it is built.
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
            (its own keyword arguments override them).
        overwrite: Replace an existing preset of that name.

    Raises:
        ValueError: ``name`` is empty or taken (and ``overwrite`` is False).
        TypeError: ``build`` is not callable.

    Example:
        >>> from torch import nn
        >>> register_model("identity-demo", lambda **kw: nn.Identity(), overwrite=True)
        >>> type(create_model("identity-demo")).__name__
        'Identity'
    """
    if not callable(build):
        raise InvalidTypeError(f"`build` must be callable, got {type(build).__name__}.")
    _MODELS.register(name, ModelPreset(build, None if wrap is None else dict(wrap)), overwrite=overwrite)


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


#: Networks saved with ``save_pretrained`` that load as they are (no backbone), by class name.
_STANDALONE_CLASSES: dict[str, Any] = {cls.__name__: cls for cls in (PerceiveIRNet, MediumRestorer)}
# saved modules that are not restorers, and where they belong instead
_NOT_RESTORERS: dict[str, str] = {
    "QualityPerceiver": "a quality perceiver: pass it as `--perceiver` to score or app, or load it with "
    "QualityPerceiver.from_pretrained",
    "CompactFeatureExtractor": "a degradation encoder: load it with CompactFeatureExtractor.from_pretrained",
    "SemanticGuidance": "a guidance module: load it with SemanticGuidance.from_pretrained",
    "DegradationTree": "an AMIRNet degradation tree: load it with DegradationTree.from_pretrained",
}


def model_multiple(model: nn.Module) -> int:
    """The size multiple inputs are padded to: ``pad_to`` of a wrapped or official network, else 1.

    Example:
        >>> from torch import nn
        >>> model_multiple(nn.Conv2d(3, 3, 3, padding=1))
        1
    """
    return int(getattr(model, "pad_to", None) or 1) if isinstance(model, (WrappedBackbone, RestormerUNet)) else 1


def _load_backbone_weights(backbone: nn.Module, weights: str | os.PathLike[str], name: str) -> None:
    state = load_user_descriptor(weights).model.state_dict()
    try:
        backbone.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise InvalidValueError(
            f"`backbone_weights` {weights} do not fit the backbone of preset {name!r}: {err}"
        ) from err


def create_model(
    name: str,
    *,
    wrap: bool = True,
    backbone_weights: str | os.PathLike[str] | None = None,
    backbone_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Build a registered model by name.

    Args:
        name: A name of :func:`list_models`.
        wrap: For presets with a backbone: wrap it with Perceive-IR guidance (default), or
            return the bare backbone.
        backbone_weights: A checkpoint of the backbone (any format spandrel reads), loaded
            strictly into the preset's backbone before wrapping.
        backbone_kwargs: Constructor arguments that replace the preset backbone's.
        **kwargs: ``wrap_backbone`` arguments (``semantic_encoder``, ``cond_dim``,
            ``condition``, ``probe_size``, ...) overriding the preset's, or, for a network that
            is not wrapped (``amirnet``), its own constructor arguments.

    Returns:
        The network, in training mode, on the CPU.

    Raises:
        ValueError: unknown name (the message lists the known ones); weights that do not fit.

    Example:
        >>> create_model("nafnet-small", semantic_encoder=None, probe_size=32).pad_to
        16
        >>> type(create_model("nafnet-small", wrap=False)).__name__
        'NAFNet'
    """
    preset = _MODELS[name]
    if preset.wrap is None:
        if backbone_weights is not None or backbone_kwargs:
            raise InvalidValueError(f"Model {name!r} has no separate backbone: pass its arguments directly.")
        return preset.build(**kwargs)
    backbone = preset.build(**dict(backbone_kwargs or {}))
    if backbone_weights is not None:
        _load_backbone_weights(backbone, backbone_weights, name)
    if not wrap:
        if kwargs:
            raise InvalidValueError(f"Wrap options {sorted(kwargs)} given with wrap=False.")
        return backbone
    return wrap_backbone(backbone, **{**preset.wrap, **kwargs})


@dataclass(frozen=True)
class LoadedModel:
    """A network resolved by :func:`load_model`, ready for :func:`~perceive_ir.inference.restore`.

    Attributes:
        module: The network, in eval mode.
        multiple: Size multiple its inputs are padded to.
        description: What was loaded, for logs and reports.
        trained: False for a preset built with random weights.
    """

    module: nn.Module
    multiple: int
    description: str
    trained: bool = field(default=True)


def load_model(
    source: str | os.PathLike[str] | None,
    *,
    backbone: str | os.PathLike[str] | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> LoadedModel:
    """Resolve a model source (and optional backbone weights) into a network.

    ``source`` is tried, in order, as: a checkpoint **file** — one of the Perceive-IR authors'
    restorer or medium-restorer ``.pth`` files (:func:`~perceive_ir.models.official.load_official`),
    else a plain network (loaded with spandrel; a super-resolution network restores at its scale,
    and a network that takes an extra noise-level channel comes behind
    :class:`~perceive_ir.retrofit.input_adapters.NoiseLevelMap`); a local **folder** written by
    ``save_restoration_model`` or ``save_pretrained`` (a converted official model included);
    a **preset** name of :func:`list_models` (random weights unless ``backbone`` gives the
    backbone's); a **Hub** repository id. With ``source=None``, ``backbone`` alone is loaded
    as a plain network.

    Args:
        source: The file, folder, preset name or Hub id; or ``None``.
        backbone: A checkpoint of the backbone: it replaces a folder's backbone weights, or
            loads into a preset's backbone.
        revision: Hub revision (a commit hash pins it).
        **kwargs: More arguments for :func:`create_model` (a preset),
            :func:`~perceive_ir.models.official.load_official` (an authors' file, e.g.
            ``semantic_encoder=``) or :func:`~perceive_ir.models.checkpoint.load_restoration_model`
            (a folder or Hub id).

    Returns:
        The :class:`LoadedModel`.

    Raises:
        ValueError: neither ``source`` nor ``backbone``, an unusable combination, or weights
            that do not fit.
        FileNotFoundError: a missing file.
        PretrainedNotFoundError: a folder or Hub id that holds no model.

    Example:
        >>> loaded = load_model("nafnet-small", semantic_encoder=None, probe_size=32)
        >>> loaded.multiple, loaded.trained, loaded.description
        (16, False, 'preset nafnet-small (untrained)')
    """
    if source is None and backbone is None:
        raise InvalidValueError(
            "Give `source` (a preset, folder, checkpoint file or Hub id) or `backbone` (a checkpoint)."
        )
    for given in (source, backbone):
        if given is not None and os.path.islink(given) and not os.path.exists(given):
            raise MissingFileError(f"{given} is a symbolic link that leads nowhere (a loop, or a missing target).")
    if source is None or Path(source).is_file():
        path = backbone if source is None else source
        if source is not None and backbone is not None:
            raise InvalidValueError(f"{source} is a checkpoint file; `backbone` is only for presets and folders.")
        official = _official_network(path, **kwargs)  # type: ignore[arg-type]
        if official is not None:
            return official
        descriptor = load_user_descriptor(path)  # type: ignore[arg-type]
        multiple = int(getattr(descriptor.size_requirements, "multiple_of", 1) or 1)
        scale = int(getattr(descriptor, "scale", 1) or 1)
        what = f"{descriptor.architecture.id}{f' ×{scale}' if scale != 1 else ''} from {path}"
        return LoadedModel(rgb_network(descriptor).eval(), multiple, what)
    name = str(source)
    if name in _MODELS and not Path(name).is_dir():  # a local folder wins over a preset name
        net = create_model(name, backbone_weights=backbone, **kwargs)
        if backbone is None:
            return LoadedModel(net.eval(), model_multiple(net), f"preset {name} (untrained)", trained=False)
        return LoadedModel(net.eval(), model_multiple(net), f"preset {name} with backbone weights from {backbone}")
    saved = saved_class(source, revision) or ""
    if saved in _NOT_RESTORERS:
        raise InvalidValueError(f"{source} holds a saved {saved} ({_NOT_RESTORERS[saved]}), not a restoration network.")
    standalone = _STANDALONE_CLASSES.get(saved)
    if standalone is not None:
        if backbone is not None:
            raise InvalidValueError(f"{source} holds a complete {standalone.__name__}; `backbone` does not apply.")
        net = standalone.from_pretrained(source, revision=revision, **kwargs).eval()
        return LoadedModel(net, model_multiple(net), f"{standalone.__name__} from {name}")
    net = load_restoration_model(source, backbone=backbone, revision=revision, **kwargs)
    description = name + (f" with backbone {backbone}" if backbone else "")
    return LoadedModel(net, model_multiple(net), description)


def _official_network(path: str | os.PathLike[str], **kwargs: Any) -> LoadedModel | None:
    """An authors' restorer or medium restorer file as a model; None for any other file."""
    if Path(path).suffix.lower() not in (".pth", ".pt", ".ckpt", ".tar"):
        return None
    try:
        mapping = load_official_checkpoint(path, "a Perceive-IR authors' checkpoint")
    except ValueError:  # not a weights-only torch dict: let spandrel say what it is
        return None
    kind = detect_official_kind(mapping)
    if kind is None:
        return None
    if kind == "prompts":
        raise InvalidValueError(
            f"{path} is the authors' stage-1 prompt checkpoint (a quality perceiver, not a restorer): use it with "
            "`perceive-ir score --perceiver` after `perceive-ir convert-official`, or QualityPerceiver.from_official."
        )
    net = read_official_mapping(mapping, str(Path(path)), kind=kind, **kwargs).module
    return LoadedModel(net, model_multiple(net), f"authors' {type(net).__name__} from {path}")

