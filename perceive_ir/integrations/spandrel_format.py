"""One self-contained ``.safetensors`` file of the authors' Perceive-IR restorer, for spandrel hosts.

spandrel hosts (chaiNNer, ComfyUI) hand an architecture nothing but the file's state dict, and
they run offline. So the file holds everything: the restorer's weights under ``restorer.``, its
frozen DINOv2's under ``restorer.semantic.encoder.`` (the same tensors, so no Hub download), and
one ``uint8`` tensor, :data:`CONFIG_KEY`, holding the few facts the shapes cannot tell (the
DINOv2 head count, its layer-norm epsilon, which hidden states guide which level) as UTF-8
JSON. safetensors metadata would be the natural place, but ``ModelLoader.load_from_state_dict``
never sees it; a tensor travels with the state dict.

This module needs no spandrel: :func:`save_spandrel` writes the file (``perceive-ir export
--format spandrel``), :func:`spandrel_model_from_state_dict` rebuilds the network from the
tensors alone (spandrel's architecture in :mod:`perceive_ir.integrations.spandrel` calls it).

The rebuilt :class:`SpandrelPerceiveIR` restores like :func:`perceive_ir.restore`: the guidance
(CFE embedding, DINOv2 CLS tokens) once on the whole image, then the whole image, or tiles of
``tile`` pixels blended over ``overlap`` when the image is larger.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._atomic import atomic_write_bytes
from .._files import check_finite_weights
from .._validation import check_image, check_int
from ..errors import InvalidTypeError, InvalidValueError
from ..inference.restore import restore
from ..models.architectures import ARCHITECTURES
from ..models.official.network import PerceiveIRNet

__all__ = [
    "CONFIG_KEY",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "RESTORER_PREFIX",
    "SpandrelFormatError",
    "SpandrelPerceiveIR",
    "is_authors_restorer_state",
    "is_spandrel_state_dict",
    "save_spandrel",
    "spandrel_model_from_state_dict",
    "spandrel_state_dict",
]

#: The key of the ``uint8`` tensor holding the file's JSON config.
CONFIG_KEY = "perceive_ir_spandrel_config"
#: Where the restorer's tensors sit in the file (its DINOv2 under ``restorer.semantic.encoder.``).
RESTORER_PREFIX = "restorer."
#: The ``format`` field of the config.
FORMAT_NAME = "perceive-ir/spandrel"
#: The version this module writes and reads.
FORMAT_VERSION = 1
#: Tile side [ours: bounds memory on large images; the guidance still sees the whole image].
DEFAULT_TILE = 512
#: Overlap of the tiles, blended smoothly [ours].
DEFAULT_OVERLAP = 32

# DINOv2 config fields that change the weights or the forward pass (all others are training or
# backbone-only settings; the local `_name_or_path` is deliberately left out of the file).
_DINOV2_FIELDS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "mlp_ratio", "hidden_act", "layer_norm_eps",
    "image_size", "patch_size", "num_channels", "qkv_bias", "layerscale_value", "use_swiglu_ffn", "use_mask_token",
)
_RESTORER_FIELDS = ("dim", "blocks", "heads", "refinement_blocks", "semantic_layers")


class SpandrelFormatError(InvalidValueError):
    """A state dict that claims to be a Perceive-IR spandrel file but cannot be rebuilt from."""


def _config_of(net: PerceiveIRNet) -> dict[str, Any]:
    encoder_config = net.semantic.encoder.config
    if getattr(encoder_config, "model_type", None) != "dinov2":
        raise InvalidValueError(
            f"`net`'s semantic encoder must be a DINOv2 (the authors'), got model_type "
            f"{getattr(encoder_config, 'model_type', None)!r}."
        )
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "restorer": {
            "dim": net.dim,
            "blocks": list(net.blocks),
            "heads": list(net.heads),
            "refinement_blocks": net.refinement_blocks,
            "semantic_layers": list(net.semantic.layers),
        },
        "semantic_encoder": {"model_type": "dinov2", **{k: getattr(encoder_config, k) for k in _DINOV2_FIELDS}},
    }


def _encode(config: Mapping[str, Any]) -> Tensor:
    return torch.tensor(list(json.dumps(config, sort_keys=True).encode("utf-8")), dtype=torch.uint8)


class SpandrelPerceiveIR(nn.Module):
    """The authors' restorer with its DINOv2 and its config tensor: the module a spandrel file loads into.

    Its state dict is exactly the file's: ``restorer.*`` and :data:`CONFIG_KEY`.

    Args:
        restorer: The network (its DINOv2 held in memory, whatever it was loaded from).
        tile: Tile side in pixels (a multiple of 8) for images with a side above it; the
            guidance is computed once on the whole image either way.
        overlap: Overlap between tiles, in pixels.

    Example:
        >>> import torch
        >>> from perceive_ir.models.official import PerceiveIRNet
        >>> from perceive_ir.testing import tiny_dinov2_config
        >>> net = PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
        ...                     semantic_encoder=tiny_dinov2_config())
        >>> model = SpandrelPerceiveIR(net, tile=32, overlap=8).eval()
        >>> model(torch.rand(1, 3, 40, 56)).shape  # two tiles wide, one guidance
        torch.Size([1, 3, 40, 56])
    """

    def __init__(self, restorer: PerceiveIRNet, *, tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP) -> None:
        super().__init__()
        if not isinstance(restorer, PerceiveIRNet):
            raise InvalidTypeError(
                f"`restorer` must be the authors' PerceiveIRNet (perceive_ir.models.official), got "
                f"{type(restorer).__name__}."
            )
        self.restorer = restorer
        self.register_buffer(CONFIG_KEY, _encode(_config_of(restorer)))
        self.tile = tile
        self.overlap = overlap

    @property
    def tile(self) -> int:
        """Tile side in pixels (a multiple of 8); images no larger run whole."""
        return self._tile

    @tile.setter
    def tile(self, value: int) -> None:
        check_int(value, "tile")
        if value % self.restorer.multiple:
            raise InvalidValueError(f"`tile` must be a positive multiple of {self.restorer.multiple}, got {value!r}.")
        self._tile = value

    @property
    def overlap(self) -> int:
        """Overlap between tiles in pixels, in ``[0, tile)``."""
        return self._overlap

    @overlap.setter
    def overlap(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.tile:
            raise InvalidValueError(f"`overlap` must be an int in [0, tile={self.tile}), got {value!r}.")
        self._overlap = value

    def forward(self, image: Tensor) -> Tensor:
        """Restore ``(B, 3, H, W)`` images in ``[0, 1]`` (any size): guidance on the whole image, tiles if large.

        Returns:
            ``image``'s shape and dtype, not clamped (spandrel's descriptor clamps).
        """
        check_image(image, "image", check_values=False)  # restore() checks the values
        large = max(image.shape[-2:]) > self.tile
        return restore(self.restorer, image, tile=self.tile if large else None, overlap=self.overlap)


def spandrel_state_dict(net: PerceiveIRNet) -> dict[str, Tensor]:
    """The tensors of a spandrel file of ``net``: its weights, its DINOv2's and the config tensor.

    Example:
        >>> from perceive_ir.testing import tiny_dinov2_config
        >>> net = PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
        ...                     semantic_encoder=tiny_dinov2_config())
        >>> state = spandrel_state_dict(net)
        >>> CONFIG_KEY in state, "restorer.semantic.encoder.embeddings.cls_token" in state
        (True, True)
    """
    state = SpandrelPerceiveIR(net).state_dict()
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def save_spandrel(net: PerceiveIRNet, path: str | os.PathLike[str]) -> Path:
    """Write ``net`` as one self-contained ``.safetensors`` file that spandrel hosts load (atomically).

    Args:
        net: The authors' restorer, e.g. from :func:`perceive_ir.models.official.load_official`
            or a folder of ``perceive-ir convert-official``.
        path: The file to write; must end in ``.safetensors``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``net`` is not a ``PerceiveIRNet``.
        ValueError: ``path`` does not end in ``.safetensors``; ``net``'s encoder is not a DINOv2.
        perceive_ir._atomic.WriteError: the file cannot be written.
    """
    from safetensors.torch import save

    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise InvalidValueError(f"`path` must be a .safetensors file (what spandrel hosts read), got {path}.")
    if not isinstance(net, PerceiveIRNet):
        raise InvalidTypeError(
            f"`net` must be the authors' PerceiveIRNet (perceive_ir.models.official), got {type(net).__name__}."
        )
    metadata = {"format": "pt", "perceive_ir": f"{FORMAT_NAME} v{FORMAT_VERSION}"}
    return atomic_write_bytes(path, save(spandrel_state_dict(net), metadata=metadata))


def is_spandrel_state_dict(state: Mapping[str, Any]) -> bool:
    """Whether ``state`` is (or claims to be) a Perceive-IR spandrel file: its config tensor and guidance keys.

    Example:
        >>> is_spandrel_state_dict({"conv.weight": torch.zeros(1)})
        False
    """
    config = state.get(CONFIG_KEY)
    return (
        isinstance(config, Tensor)
        and config.dtype == torch.uint8
        and f"{RESTORER_PREFIX}pgm.0.affine.0.weight" in state
    )


def is_authors_restorer_state(state: Mapping[str, Any]) -> bool:
    """Whether ``state`` is the authors' raw restorer state dict (their ``.pth``, without its DINOv2).

    The one test of :data:`~perceive_ir.models.architectures.ARCHITECTURES` (``authors-restorer``).

    Example:
        >>> keys = ("embed.weight", "encoder1.0.attention.temperature", "output.weight", "pgm.0.affine.0.weight")
        >>> is_authors_restorer_state({k: torch.zeros(1) for k in keys})
        True
    """
    return ARCHITECTURES["authors-restorer"].detect(state)


def _read_config(state: Mapping[str, Any]) -> dict[str, Any]:
    raw = state[CONFIG_KEY]
    if raw.ndim != 1:
        raise SpandrelFormatError(f"`{CONFIG_KEY}` must be a 1-D uint8 tensor of JSON, got shape {tuple(raw.shape)}.")
    try:
        config = json.loads(bytes(raw.cpu().tolist()).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise SpandrelFormatError(f"`{CONFIG_KEY}` does not hold UTF-8 JSON ({err}).") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise SpandrelFormatError(f"`{CONFIG_KEY}` must be a JSON object with format {FORMAT_NAME!r}.")
    if config.get("version") != FORMAT_VERSION:
        raise SpandrelFormatError(
            f"this file is {FORMAT_NAME} version {config.get('version')!r}; this perceive-ir reads version "
            f"{FORMAT_VERSION}. Install the perceive-ir that wrote it, or export the file again."
        )
    restorer, encoder = config.get("restorer"), config.get("semantic_encoder")
    if not isinstance(restorer, dict) or sorted(restorer) != sorted(_RESTORER_FIELDS):
        raise SpandrelFormatError(f"`{CONFIG_KEY}`'s `restorer` must hold exactly {list(_RESTORER_FIELDS)}.")
    if (not isinstance(encoder, dict) or encoder.get("model_type") != "dinov2"
            or sorted(encoder) != sorted(("model_type", *_DINOV2_FIELDS))):
        raise SpandrelFormatError(
            f"`{CONFIG_KEY}`'s `semantic_encoder` must be a DINOv2 config with exactly {list(_DINOV2_FIELDS)}."
        )
    return config


def spandrel_model_from_state_dict(state: Mapping[str, Any]) -> SpandrelPerceiveIR:
    """Rebuild the network of a spandrel file from its tensors alone and load them strictly (no download).

    Args:
        state: The file's state dict (``safetensors.torch.load_file``).

    Returns:
        The :class:`SpandrelPerceiveIR`, weights loaded, in eval mode.

    Raises:
        SpandrelFormatError: ``state`` is the authors' raw ``.pth`` (export it first), lacks or
            mangles the config tensor, or its tensors do not fit the network the config describes
            (missing, unexpected or mis-shaped keys, NaN/Inf values).
    """
    from transformers import Dinov2Config

    if not is_spandrel_state_dict(state):
        if is_authors_restorer_state(state):
            raise SpandrelFormatError(
                "this is the Perceive-IR authors' restorer .pth, which lacks its DINOv2 weights; make a "
                "self-contained file first: perceive-ir export --format spandrel perceiveIR.pth OUT.safetensors "
                "--semantic-encoder facebook/dinov2-base"
            )
        raise SpandrelFormatError(
            f"not a Perceive-IR spandrel file: it needs a uint8 `{CONFIG_KEY}` tensor and the restorer's "
            f"`{RESTORER_PREFIX}*` weights (write one with `perceive-ir export --format spandrel`)."
        )
    config = _read_config(state)
    fields = {k: v for k, v in config["semantic_encoder"].items() if k != "model_type"}
    restorer = dict(config["restorer"])
    layers = restorer.pop("semantic_layers")
    try:
        net = PerceiveIRNet(**restorer, semantic_encoder=Dinov2Config(**fields), semantic_layers=layers)
    except (TypeError, ValueError) as err:
        raise SpandrelFormatError(f"`{CONFIG_KEY}` describes no buildable network: {err}") from None
    model = SpandrelPerceiveIR(net)
    setattr(model, CONFIG_KEY, state[CONFIG_KEY].detach().clone())  # the file's bytes, however it spelt its JSON
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or misshaped:
        raise SpandrelFormatError(
            "the tensors do not fit the network the config describes: "
            f"missing {missing[:5]}{' …' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
            f"{' …' if len(unexpected) > 5 else ''}, mis-shaped {misshaped[:5]}{' …' if len(misshaped) > 5 else ''}."
        )
    try:
        check_finite_weights({k: v for k, v in state.items() if k != CONFIG_KEY}, "the spandrel file")
    except ValueError as err:
        raise SpandrelFormatError(str(err)) from None
    model.load_state_dict(state)
    return model.eval()
