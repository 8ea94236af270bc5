"""A whole restoration model in one folder: the adapter (``save_pretrained``) plus the backbone.

``WrappedBackbone.save_pretrained`` writes only the adapter. A trained Perceive-IR network
also trained its backbone, so :func:`save_restoration_model` adds ``backbone.safetensors``
(the backbone's state dict) to the same folder. :func:`load_restoration_model` rebuilds the
backbone from that file with spandrel (the architecture is detected from its keys), or takes
a checkpoint given with ``backbone=``, and then loads the adapter strictly.
:func:`~perceive_ir.models.load_model` reads such a folder (``load_restoration_model`` is deprecated:
it warns, and goes in the next release).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from .._atomic import atomic_write_bytes
from .._files import read_safetensors
from .._hub_access import hub_access, hub_unavailable_reason, unavailable_error
from ..errors import InvalidTypeError
from ..hub import CONFIG_NAME, PretrainedNotFoundError
from ..retrofit.wrap import WrappedBackbone
from ._deprecated import warn_deprecated
from .user_network import _load_user_descriptor, _network_from_state_dict

__all__ = ["BACKBONE_WEIGHTS_NAME", "load_restoration_model", "save_network_weights", "save_restoration_model"]

#: The backbone's weights, next to ``config.json`` and ``model.safetensors``.
BACKBONE_WEIGHTS_NAME = "backbone.safetensors"


def save_network_weights(network: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write ``network``'s state dict to a ``.safetensors`` file, atomically (spandrel reads it back).

    Args:
        network: Any network; its class name is stored in the file's metadata.
        path: The file to write (its folder is created if needed).

    Returns:
        ``path``.

    Example:
        >>> import tempfile
        >>> from torch import nn
        >>> save_network_weights(nn.Conv2d(3, 3, 3), tempfile.mkdtemp() + "/conv.safetensors").suffix
        '.safetensors'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in network.state_dict().items()}
    atomic_write_bytes(path, safetensors_bytes(state, metadata={"format": "pt", "class": type(network).__name__}))
    return path


def save_restoration_model(model: WrappedBackbone, folder: str | os.PathLike[str]) -> Path:
    """Write a wrapped network (adapter and backbone) into ``folder``, each file atomically.

    Args:
        model: The wrapped network.
        folder: Created if needed; ``config.json``, ``model.safetensors`` (the adapter, as
            ``save_pretrained`` writes it) and ``backbone.safetensors``.

    Returns:
        The folder.

    Raises:
        TypeError: ``model`` is not a :class:`~perceive_ir.retrofit.wrap.WrappedBackbone`.

    Example:
        >>> import tempfile
        >>> from perceive_ir.models.presets import perceive_ir_nafnet
        >>> model = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32)
        >>> folder = save_restoration_model(model, tempfile.mkdtemp())
        >>> sorted(p.name for p in folder.glob("*.safetensors"))
        ['backbone.safetensors', 'model.safetensors']
    """
    if not isinstance(model, WrappedBackbone):
        raise InvalidTypeError(f"`model` must be a WrappedBackbone, got {type(model).__name__}.")
    folder = model.save_pretrained(folder)
    save_network_weights(model.backbone, folder / BACKBONE_WEIGHTS_NAME)
    return folder


def _backbone_file(name_or_path: str | os.PathLike[str], revision: str | None) -> Path | None:
    path = Path(name_or_path)
    if path.is_dir():
        candidate = path / BACKBONE_WEIGHTS_NAME
        return candidate if candidate.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    try:
        with hub_access():
            return Path(hf_hub_download(repo_id=str(name_or_path), filename=BACKBONE_WEIGHTS_NAME, revision=revision))
    except (EntryNotFoundError, LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError):
        return None


def load_restoration_model(
    name_or_path: str | os.PathLike[str],
    *,
    backbone: nn.Module | str | os.PathLike[str] | None = None,
    revision: str | None = None,
    map_location: str | torch.device = "cpu",
    **kwargs: Any,
) -> WrappedBackbone:
    """Deprecated: use ``perceive_ir.models.load_model(folder).module``; warns.

    Load a wrapped network saved by :func:`save_restoration_model` (a folder or a Hub repo).

    Args:
        name_or_path: The folder (or Hub repository id).
        backbone: The backbone to use instead of the saved ``backbone.safetensors``: a network or
            a checkpoint file loaded with spandrel. Needed for folders written by
            ``save_pretrained`` alone.
        revision: Hub revision.
        map_location: Device the weights are loaded onto.
        **kwargs: More ``WrappedBackbone.from_pretrained`` arguments (e.g. ``condition=``).

    Returns:
        The wrapped network in eval mode.

    Raises:
        PretrainedNotFoundError: no adapter files, or no backbone (neither saved nor given).
        ValueError: the backbone file is not a network spandrel recognises, or does not fit the adapter.

    Example:
        >>> import tempfile, torch
        >>> from perceive_ir.models.presets import perceive_ir_nafnet
        >>> model = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32)
        >>> folder = save_restoration_model(model, tempfile.mkdtemp())
        >>> loaded = _load_restoration_model(folder)
        >>> x = torch.rand(1, 3, 32, 32)
        >>> torch.equal(loaded(x), model.eval()(x))
        True
    """
    warn_deprecated("perceive_ir.models.load_restoration_model", "perceive_ir.models.load_model(folder).module")
    return _load_restoration_model(name_or_path, backbone=backbone, revision=revision, map_location=map_location,
                                   **kwargs)


def _load_restoration_model(
    name_or_path: str | os.PathLike[str],
    *,
    backbone: nn.Module | str | os.PathLike[str] | None = None,
    revision: str | None = None,
    map_location: str | torch.device = "cpu",
    **kwargs: Any,
) -> WrappedBackbone:
    """A wrapped network from a folder or Hub repository (see :func:`load_restoration_model`)."""
    if isinstance(backbone, (str, os.PathLike)):
        backbone = _load_user_descriptor(backbone).model.eval()
    elif backbone is None:
        weights = _backbone_file(name_or_path, revision)
        if weights is None:
            if Path(name_or_path).is_dir() and not (Path(name_or_path) / CONFIG_NAME).is_file():
                raise PretrainedNotFoundError(
                    f"{name_or_path} holds no {CONFIG_NAME}: it is not a model saved by save_restoration_model."
                )
            unavailable = hub_unavailable_reason()
            if not Path(name_or_path).is_dir() and unavailable is not None:
                raise PretrainedNotFoundError(str(unavailable_error(
                    f"{name_or_path!s} is not a local folder, and {BACKBONE_WEIGHTS_NAME} of the Hub repository "
                    f"{str(name_or_path)!r}", unavailable,
                    "pass a local folder, or run once with network to cache it",
                ))) from None
            if not Path(name_or_path).is_dir():
                raise PretrainedNotFoundError(
                    f"Cannot load {name_or_path!s}: it is not a local folder, and the Hub gave no "
                    f"{BACKBONE_WEIGHTS_NAME} for it (unknown repo, offline, or an adapter-only repo: then pass "
                    "the backbone with `backbone=` / `--backbone`)."
                )
            raise PretrainedNotFoundError(
                f"{name_or_path} holds the adapter but no {BACKBONE_WEIGHTS_NAME}: pass the backbone "
                "(`backbone=` a network or checkpoint file; `--backbone` on the command line), or save "
                "with perceive_ir.models.checkpoint.save_restoration_model."
            )
        state = read_safetensors(weights, "the backbone's weights (written by save_restoration_model)")
        backbone = _network_from_state_dict(state, source=str(weights)).model
    elif not isinstance(backbone, nn.Module):
        raise InvalidTypeError(
            f"`backbone` must be an nn.Module, a checkpoint path or None, got {type(backbone).__name__}."
        )
    model = WrappedBackbone.from_pretrained(
        name_or_path, backbone=backbone, revision=revision, map_location=map_location, **kwargs
    )
    return model.to(map_location).eval()
