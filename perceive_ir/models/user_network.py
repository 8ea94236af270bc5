"""Load a user's own restoration checkpoint (Restormer, NAFNet, SwinIR, ...) with spandrel.

:func:`~perceive_ir.models.load_model` reads such files (through the ``spandrel`` entry of
:data:`~perceive_ir.models.architectures.ARCHITECTURES`) and returns their
:class:`~perceive_ir.models.descriptor.ModelDescriptor`. The public functions of this module are
deprecated (they warn, and go in the next release): ``load_user_network(path)`` is
``load_model(path).module``; ``load_user_descriptor``, ``network_from_state_dict`` and
``rgb_network`` are spandrel's own descriptor and are described by ``load_model`` instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from .._files import check_finite_weights, looks_like_safetensors, read_safetensors, without_unsafe_advice
from ..errors import InvalidValueError, MissingFileError
from ..retrofit.input_adapters import AdaptedInput, NoiseLevelMap
from ._deprecated import warn_deprecated

__all__ = ["load_user_descriptor", "load_user_network", "network_from_state_dict", "rgb_network"]

_INSTALL_HINT = (
    'Loading checkpoints of other networks needs spandrel: pip install "perceive-ir[backbones]" '
    "(spandrel + spandrel-extra-arches; the extra arches add Restormer and other architectures)."
)


def _loader() -> Any:
    try:
        import spandrel
    except ImportError as err:  # pragma: no cover - spandrel is installed in development
        raise ImportError(_INSTALL_HINT) from err
    try:
        import spandrel_extra_arches

        spandrel_extra_arches.install(ignore_duplicates=True)
    except ImportError:  # pragma: no cover - optional
        pass
    return spandrel.ModelLoader()


def load_user_descriptor(path: str | os.PathLike[str]) -> Any:
    """Deprecated: use :func:`~perceive_ir.models.load_model` (its ``ModelDescriptor``); warns.

    The spandrel ``ModelDescriptor`` of a checkpoint file (``.pth``, ``.safetensors``, ...).

    The descriptor also tells ``size_requirements.multiple_of`` and ``scale``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ImportError: spandrel is not installed (the message says how to install it).
        ValueError: spandrel does not recognise the architecture, refuses the file (a pickle
            that would run code), or the weights hold NaN/Inf.

    Example:
        >>> import tempfile, torch
        >>> from spandrel.architectures.NAFNet import NAFNet
        >>> path = tempfile.mkdtemp() + "/nafnet.pth"
        >>> torch.save(NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), path)
        >>> _load_user_descriptor(path).architecture.id
        'NAFNet'
    """
    warn_deprecated("perceive_ir.models.user_network.load_user_descriptor", "perceive_ir.models.load_model")
    return _load_user_descriptor(path)


def _load_user_descriptor(path: str | os.PathLike[str]) -> Any:
    """The spandrel descriptor of a checkpoint file (see :func:`load_user_descriptor`)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"Checkpoint file not found: {path}")
    loader = _loader()
    try:
        if path.suffix.lower() != ".safetensors" and looks_like_safetensors(path):
            # spandrel picks its reader by the suffix: a renamed safetensors file would read as a refused pickle
            descriptor = loader.load_from_state_dict(read_safetensors(path, "a network's weights"))
        else:
            descriptor = loader.load_from_file(path)
    except Exception as err:  # spandrel raises plain exceptions for unknown architectures
        raise InvalidValueError(f"spandrel cannot load {path}: {_reason(err)}") from None
    check_finite_weights(descriptor.model, str(path))
    return descriptor


def _reason(err: Exception) -> str:
    """Spandrel's reason, or what an empty one means (it recognised no architecture)."""
    message = without_unsafe_advice(str(err).strip())
    if not message or isinstance(err, KeyError):
        return (
            f"no supported architecture matches the checkpoint's weights ({type(err).__name__}"
            f"{': ' + message if message else ''}); expected a checkpoint of a network spandrel (and "
            "spandrel-extra-arches) supports, such as Restormer, NAFNet or SwinIR"
        )
    return message


def load_user_network(path: str | os.PathLike[str]) -> nn.Module:
    """Deprecated: use ``perceive_ir.models.load_model(path).module``; warns.

    Load a restoration network from a checkpoint file with spandrel (architecture detected).

    Args:
        path: A checkpoint of any architecture spandrel (+ spandrel-extra-arches) supports.

    Returns:
        The network (``nn.Module``) with the checkpoint's weights, in eval mode, on the CPU.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ImportError: spandrel is not installed.
        ValueError: unknown architecture.

    Example:
        >>> import tempfile, torch
        >>> from spandrel.architectures.NAFNet import NAFNet
        >>> path = tempfile.mkdtemp() + "/nafnet.pth"
        >>> torch.save(NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), path)
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     type(load_user_network(path)).__name__
        'NAFNet'
    """
    warn_deprecated("perceive_ir.models.load_user_network", "perceive_ir.models.load_model(path).module")
    return _load_user_descriptor(path).model.eval()


def rgb_network(descriptor: Any) -> nn.Module:
    """Deprecated: ``perceive_ir.models.load_model`` gives this network as ``.module``; warns.

    See ``_rgb_network``.
    """
    warn_deprecated("perceive_ir.models.user_network.rgb_network", "perceive_ir.models.load_model(path).module")
    return _rgb_network(descriptor)


def _rgb_network(descriptor: Any) -> nn.Module:
    """The network of a spandrel descriptor, taking ``(B, 3, H, W)`` images like the descriptor does.

    spandrel runs some networks with an extra input channel it makes itself: DRUNet and
    FDnCNN take a noise-level map (15/255, their default) beside the image. Such a network
    comes back behind :class:`~perceive_ir.retrofit.input_adapters.NoiseLevelMap` (an
    :class:`~perceive_ir.retrofit.input_adapters.AdaptedInput`); any other network as it is.

    Example:
        >>> from spandrel.architectures.DRUNet import DRUNet
        >>> net = DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=3)
        >>> type(_rgb_network(_network_from_state_dict(net.state_dict()))).__name__
        'AdaptedInput'
    """
    model = descriptor.model
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None and first.in_channels == descriptor.input_channels + 1:
        return AdaptedInput(model, NoiseLevelMap())  # the channel spandrel generates: the noise level
    return model


def network_from_state_dict(state: dict[str, Tensor], *, source: str = "state dict") -> Any:
    """Deprecated: the spandrel descriptor of a bare state dict (see ``_network_from_state_dict``); warns."""
    warn_deprecated("perceive_ir.models.user_network.network_from_state_dict", "perceive_ir.models.load_model")
    return _network_from_state_dict(state, source=source)


def _network_from_state_dict(state: dict[str, Tensor], *, source: str = "state dict") -> Any:
    """The spandrel descriptor of a bare state dict (the architecture is detected from its keys).

    Raises:
        ImportError: spandrel is not installed.
        ValueError: unknown architecture (``source`` names where the state came from).

    Example:
        >>> from spandrel.architectures.NAFNet import NAFNet
        >>> net = NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1])
        >>> _network_from_state_dict(net.state_dict()).architecture.id
        'NAFNet'
    """
    loader = _loader()
    try:
        descriptor = loader.load_from_state_dict(state)
    except Exception as err:
        raise InvalidValueError(f"spandrel cannot recognise the network in {source}: {_reason(err)}") from None
    check_finite_weights(state, source)
    return descriptor
