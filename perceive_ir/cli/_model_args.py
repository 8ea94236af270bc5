"""Command-line options shared by ``restore`` and ``evaluate``: which network, where, how tiled."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import InvalidValueError

if TYPE_CHECKING:  # the factory pulls in torch models: imported when a command runs
    from ..inference.tiling_spec import TilingSpec
    from ..models.descriptor import ModelDescriptor
    from ..perceive.perceiver import QualityPerceiver

__all__ = [
    "add_inference_arguments",
    "add_model_arguments",
    "clip_model_from_arg",
    "load_model_from_args",
    "load_perceiver_from_args",
    "output_key",
    "resolve_device",
    "semantic_encoder_kwargs",
    "tiling_from_args",
]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` and ``--backbone``."""
    parser.add_argument(
        "--model",
        help="a preset name (restormer, restormer-small, nafnet, nafnet-small: untrained unless --backbone gives "
        "the backbone's weights), a folder written by save_restoration_model / save_pretrained / convert-official, "
        "a Hub repo id, the Perceive-IR authors' restorer .pth, or a checkpoint file of a plain network (spandrel); "
        "prefixes say which: preset:NAME, hf-hub:ORG/NAME, local-dir:PATH (or ./NAME), file:PATH",
    )
    parser.add_argument(
        "--semantic-encoder",
        default=None,
        help="DINOv2 (Hub id or local folder) for the authors' restorer .pth (default facebook/dinov2-base) or a "
        "preset; converted folders name theirs. Offline spellings: 'tiny' (perceive_ir.testing.tiny_dinov2_config, "
        "random weights, for smoke tests; as --clip-model tiny), 'none' (a preset without semantic guidance)",
    )
    parser.add_argument(
        "--backbone",
        help="checkpoint of the backbone, loaded with spandrel: alone, the plain network is used; with a folder, "
        "it replaces the folder's backbone weights; with a preset name, its weights load into the preset's backbone",
    )


def output_key(text: str) -> int | str:
    """``--output-key``: an index (``0``, ``-1``) of a tuple/list output, else a dict key.

    Example:
        >>> output_key("1"), output_key("-1"), output_key("image")
        (1, -1, 'image')
    """
    try:
        return int(text)
    except ValueError:
        return text


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tile``, ``--overlap``, ``--device``, ``--half``, ``--output-key``."""
    parser.add_argument("--tile", type=int, default=None, help="tile side in pixels (default: whole image)")
    parser.add_argument("--overlap", type=int, default=32, help="overlap between tiles in pixels (default 32)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    parser.add_argument("--half", action="store_true", help="float16 autocast (CUDA only)")
    parser.add_argument(
        "--output-key", type=output_key, default=None,
        help="for a network returning a tuple, list or dict: the index or key of the image (default: the first "
        "image-shaped tensor)",
    )


def tiling_from_args(args: argparse.Namespace, device: torch.device) -> TilingSpec:
    """``--tile``, ``--overlap``, ``--half`` and ``--output-key`` (with the resolved device) as one checked spec.

    Raises:
        ValueError: a bad ``--tile`` or ``--overlap`` (see :class:`~perceive_ir.inference.tiling_spec.TilingSpec`).
    """
    from ..inference.tiling_spec import TilingSpec

    return TilingSpec(tile=args.tile, overlap=args.overlap, device=device, half=args.half, output=args.output_key)


def resolve_device(name: str | None) -> torch.device:
    """The device named on the command line, or CUDA when available, else the CPU."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise InvalidValueError(f"--device must name a torch device (cpu, cuda, cuda:1, ...), got {name!r}.") from err


def clip_model_from_arg(value: str) -> str | dict[str, Any]:
    """``--clip-model``: an open_clip name or id, or a ``.json`` file holding an open_clip model config.

    Raises:
        ValueError: a ``.json`` value that is not a readable JSON object.
    """
    if not value.lower().endswith(".json"):
        return value
    path = Path(value)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidValueError(f"--clip-model {value}: cannot read an open_clip config from it ({err}).") from None
    if not isinstance(config, dict):
        raise InvalidValueError(f"--clip-model {value}: expected a JSON object (an open_clip model config).")
    return config


def semantic_encoder_kwargs(value: str | None) -> dict[str, Any]:
    """``--semantic-encoder`` as ``load_model`` keyword arguments: nothing when not given.

    ``"tiny"`` is the tiny random DINOv2 of :func:`perceive_ir.testing.tiny_dinov2_config` (offline
    smoke tests, as ``--clip-model tiny``), ``"none"`` a preset without semantic guidance; anything
    else a Hub id or a local folder.

    Example:
        >>> semantic_encoder_kwargs(None), semantic_encoder_kwargs("none")
        ({}, {'semantic_encoder': None})
    """
    if value is None:
        return {}
    if value.lower() == "none":
        return {"semantic_encoder": None}
    if value.lower() == "tiny":
        from ..testing import tiny_dinov2_config

        return {"semantic_encoder": tiny_dinov2_config()}
    return {"semantic_encoder": value}


def load_model_from_args(
    model: str | None, backbone: str | None, semantic_encoder: str | None = None
) -> ModelDescriptor:
    """Resolve ``--model`` / ``--backbone`` (and ``--semantic-encoder``) with :func:`perceive_ir.models.load_model`.

    Warns on stderr when the result is an untrained preset.

    Raises:
        ValueError: neither option given, or an unusable combination.
        FileNotFoundError, PretrainedNotFoundError: missing files.
    """
    from ..models.factory import load_model

    if model is None and backbone is None:
        raise InvalidValueError(
            "Give --model (a preset, folder or Hub repo) or --backbone (a checkpoint file), or both."
        )
    loaded = load_model(model, backbone=backbone, **semantic_encoder_kwargs(semantic_encoder))
    if not loaded.trained:
        print(
            f"warning: --model {model} is an untrained preset (random weights); pass --backbone with the "
            "backbone's weights or a trained folder for meaningful results.",
            file=sys.stderr,
        )
    return loaded


def load_perceiver_from_args(
    source: str, clip_model: str | None = None, clip_pretrained: str | None = None, revision: str | None = None
) -> QualityPerceiver:
    """Resolve ``--perceiver`` (with ``--clip-model``, ``--clip-pretrained``, ``--revision``) into a perceiver.

    ``source`` is the Perceive-IR authors' prompt checkpoint (a file: its CLIP is ViT-B-32 /
    openai unless ``clip_model`` says otherwise), or a folder or Hub id written by
    ``save_pretrained``. ``clip_model`` ``"tiny"`` rebuilds the tiny random CLIP of
    :func:`perceive_ir.testing.tiny_clip_config` (offline smoke tests).

    The resolution is :func:`perceive_ir.perceive.perceiver_source.load_perceiver`'s.

    Raises:
        FileNotFoundError, PretrainedNotFoundError, OfficialCheckpointError, ValueError: what
            :meth:`~perceive_ir.QualityPerceiver.from_pretrained` / ``from_official`` raise;
            ``--revision`` with a file.
    """
    from ..perceive.perceiver_source import load_perceiver

    if clip_model is None:  # --clip-pretrained alone changes nothing, as before
        return load_perceiver(source, revision=revision)
    if clip_model == "tiny" and not Path(source).is_file():
        from ..testing import tiny_clip_config

        return load_perceiver(source, clip_model=tiny_clip_config(), revision=revision)
    return load_perceiver(source, clip_model=clip_model_from_arg(clip_model), clip_pretrained=clip_pretrained,
                          revision=revision)
