"""The model factory: the one place where a model name or a saved model becomes a network.

* :func:`create_model` builds a registered preset by name (``restormer``, ``nafnet-small``,
  ``amirnet``, ... — :func:`list_models`), optionally with the backbone's weights.
* :func:`load_model` resolves anything a user may point at — a preset name, a local folder
  written by :func:`~perceive_ir.models.checkpoint.save_restoration_model`, a checkpoint file
  of a plain network (spandrel), a Hub repository id, plus backbone weights — into a
  :class:`~perceive_ir.models.descriptor.ModelDescriptor`: the network and what is known about it
  (size multiple, scale, channels, guidance, where it came from). What a source names is read by
  :func:`~perceive_ir.models.sources.parse_source`; which architecture a file holds, by
  :data:`~perceive_ir.models.architectures.ARCHITECTURES`.

``LoadedModel`` is the deprecated name of ``ModelDescriptor`` (it warns; it goes in the next release).

The CLI, the recipes and the demo all build and load networks through these two functions;
:func:`register_model` adds a preset (the built-in ones live in :mod:`perceive_ir.models.presets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torch import nn

from ..errors import InvalidValueError, MissingFileError
from ..hub import saved_class
from ..retrofit.wrap import _current_spellings, wrap_backbone
from ._deprecated import warn_deprecated
from .architectures import detect_architecture, read_checkpoint_state
from .checkpoint import _load_restoration_model
from .descriptor import ModelDescriptor, SourceKind, describe_module
from .official import MediumRestorer, PerceiveIRNet
from .preset_registry import _MODELS, ModelPreset, list_models, preset_is_wrapped, register_model
from .sources import parse_source
from .user_network import _load_user_descriptor

__all__ = [
    "ModelPreset",
    "create_model",
    "list_models",
    "load_model",
    "model_multiple",
    "preset_is_wrapped",
    "register_model",
]


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
    """The size multiple inputs are padded to: ``multiple`` of a wrapped or official network, else 1.

    ``describe_module(model).multiple`` (:func:`~perceive_ir.models.descriptor.describe_module`).

    Example:
        >>> from torch import nn
        >>> model_multiple(nn.Conv2d(3, 3, 3, padding=1))
        1
    """
    return describe_module(model).multiple


def _load_backbone_weights(backbone: nn.Module, weights: str | os.PathLike[str], name: str) -> None:
    state = _load_user_descriptor(weights).model.state_dict()
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
        >>> create_model("nafnet-small", semantic_encoder=None, probe_size=32).multiple
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
    return wrap_backbone(backbone, **{**preset.wrap, **_current_spellings(kwargs, "create_model")})


def __getattr__(name: str) -> Any:
    if name == "LoadedModel":  # the former result of load_model, now one ModelDescriptor
        warn_deprecated("perceive_ir.models.LoadedModel", "perceive_ir.models.ModelDescriptor")
        return ModelDescriptor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_model(
    source: str | os.PathLike[str] | None,
    *,
    backbone: str | os.PathLike[str] | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> ModelDescriptor:
    """Load a model source (and optional backbone weights) into its :class:`ModelDescriptor`.

    What ``source`` names is read by :func:`~perceive_ir.models.sources.parse_source`, once, with
    nothing tried and dropped:

    * an existing **file** (``file:PATH`` to say so): the first architecture of
      :data:`~perceive_ir.models.architectures.ARCHITECTURES` that claims it loads it — one of
      the Perceive-IR authors' restorer or medium-restorer ``.pth`` files
      (:func:`~perceive_ir.models.official.load_official`), else a plain network read by
      spandrel (a super-resolution network restores at its scale; a network that takes an extra
      noise-level channel comes behind :class:`~perceive_ir.retrofit.input_adapters.NoiseLevelMap`);
    * an existing **folder** (``local-dir:PATH`` or ``./NAME`` to say so) written by
      ``save_restoration_model`` or ``save_pretrained`` (a converted official model included);
    * a **preset** name of :func:`list_models` (``preset:NAME`` to say so; random weights unless
      ``backbone`` gives the backbone's);
    * else a **Hub** repository id (``hf-hub:ORG/NAME`` to say so), loaded like a folder.

    A bare name that is both an existing local folder (or file) and a preset is an error that
    says how to pick. With ``source=None``, ``backbone`` alone is loaded as a plain network.

    Args:
        source: The file, folder, preset name or Hub id (with or without its prefix); or ``None``.
        backbone: A checkpoint of the backbone: it replaces a folder's backbone weights, or
            loads into a preset's backbone.
        revision: Hub revision (a commit hash pins it).
        **kwargs: More arguments for :func:`create_model` (a preset),
            :func:`~perceive_ir.models.official.load_official` (an authors' file, e.g.
            ``semantic_encoder=``) or ``WrappedBackbone.from_pretrained`` (a folder or Hub id).

    Returns:
        The :class:`~perceive_ir.models.descriptor.ModelDescriptor`: the network in eval mode
        (``.module``), its size multiple, scale, channels, what was loaded (``.description``),
        whether it is trained and guided, and where it came from.

    Raises:
        ValueError: neither ``source`` nor ``backbone``, an unusable combination, a name that is both a
            folder and a preset, or weights that do not fit.
        FileNotFoundError: a missing file.
        PretrainedNotFoundError: a folder or Hub id that holds no model.

    Example:
        >>> loaded = load_model("nafnet-small", semantic_encoder=None, probe_size=32)
        >>> loaded.multiple, loaded.trained, loaded.description, loaded.source_kind
        (16, False, 'preset nafnet-small (untrained)', 'preset')
    """
    if source is None and backbone is None:
        raise InvalidValueError(
            "Give `source` (a preset, folder, checkpoint file or Hub id) or `backbone` (a checkpoint)."
        )
    if backbone is not None and os.path.islink(backbone) and not os.path.exists(backbone):
        raise MissingFileError(f"{backbone} is a symbolic link that leads nowhere (a loop, or a missing target).")
    if source is None:
        return _load_file(str(backbone), **kwargs)
    parsed = parse_source(source, presets=list_models())
    if parsed.kind == "file":
        if backbone is not None:
            raise InvalidValueError(f"{source} is a checkpoint file; `backbone` is only for presets and folders.")
        return _load_file(parsed.value, **kwargs)
    if parsed.kind == "preset":
        return _load_preset(parsed.value, backbone, **kwargs)
    return _load_saved(parsed.value, parsed.kind, backbone, revision, **kwargs)


def _load_file(path: str, **kwargs: Any) -> ModelDescriptor:
    """A checkpoint file, by the first architecture that claims it."""
    if not os.path.isfile(path):
        raise MissingFileError(f"Checkpoint file not found: {path}")
    state = read_checkpoint_state(path)
    return detect_architecture(state).load(state, source=path, **kwargs)


def _load_preset(name: str, backbone: str | os.PathLike[str] | None, **kwargs: Any) -> ModelDescriptor:
    net = create_model(name, backbone_weights=backbone, **kwargs).eval()
    described = describe_module(net, source_kind="preset", source=name, trained=backbone is not None)
    what = f"preset {name} (untrained)" if backbone is None else f"preset {name} with backbone weights from {backbone}"
    return described.replace(description=what)


def _load_saved(
    name: str, kind: str, backbone: str | os.PathLike[str] | None, revision: str | None, **kwargs: Any
) -> ModelDescriptor:
    """A folder or Hub repository written by ``save_restoration_model`` or ``save_pretrained``."""
    saved = saved_class(name, revision) or ""
    if saved in _NOT_RESTORERS:
        raise InvalidValueError(f"{name} holds a saved {saved} ({_NOT_RESTORERS[saved]}), not a restoration network.")
    source_kind: SourceKind = "folder" if kind == "folder" else "hf-hub"
    standalone = _STANDALONE_CLASSES.get(saved)
    if standalone is not None:
        if backbone is not None:
            raise InvalidValueError(f"{name} holds a complete {standalone.__name__}; `backbone` does not apply.")
        net = standalone.from_pretrained(name, revision=revision, **kwargs).eval()
        return describe_module(net, description=f"{standalone.__name__} from {name}", source_kind=source_kind,
                               source=name)
    net = _load_restoration_model(name, backbone=backbone, revision=revision, **kwargs)
    description = name + (f" with backbone {backbone}" if backbone else "")
    return describe_module(net, description=description, source_kind=source_kind, source=name)
