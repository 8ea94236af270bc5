"""Command-line options shared by ``restore`` and ``evaluate``: which network, where, how tiled."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

__all__ = ["LoadedModel", "add_inference_arguments", "add_model_arguments", "load_model", "resolve_device"]


@dataclass
class LoadedModel:
    """A network ready for :func:`perceive_ir.restore.restore`.

    Attributes:
        module: The network.
        multiple: Size multiple inputs are padded to.
        description: What was loaded, for logs and reports.
    """

    module: nn.Module
    multiple: int
    description: str


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` and ``--backbone``."""
    parser.add_argument(
        "--model",
        help="a preset name (restormer, restormer-small, nafnet, nafnet-small: untrained unless --backbone gives "
        "the backbone's weights), a folder written by save_restoration_model / save_pretrained, a Hub repo id, "
        "or a checkpoint file of a plain network (loaded with spandrel)",
    )
    parser.add_argument(
        "--backbone",
        help="checkpoint of the backbone, loaded with spandrel: alone, the plain network is used; with a folder, "
        "it replaces the folder's backbone weights; with a preset name, its weights load into the preset's backbone",
    )


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tile``, ``--overlap``, ``--device``, ``--half``."""
    parser.add_argument("--tile", type=int, default=None, help="tile side in pixels (default: whole image)")
    parser.add_argument("--overlap", type=int, default=32, help="overlap between tiles in pixels (default 32)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    parser.add_argument("--half", action="store_true", help="float16 autocast (CUDA only)")


def resolve_device(name: str | None) -> torch.device:
    """The device named on the command line, or CUDA when available, else the CPU."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"--device must name a torch device (cpu, cuda, cuda:1, ...), got {name!r}.") from err


def load_model(model: str | None, backbone: str | None) -> LoadedModel:
    """Resolve ``--model`` / ``--backbone`` into a network.

    Raises:
        ValueError: neither option given, or an unusable combination.
        FileNotFoundError, PretrainedNotFoundError: missing files.
    """
    from ..models.checkpoint import load_restoration_model
    from ..models.presets import build_model, list_models
    from ..models.user_network import load_user_descriptor
    from ..restore import model_multiple

    if model is None and backbone is None:
        raise ValueError("Give --model (a preset, folder or Hub repo) or --backbone (a checkpoint file), or both.")
    if model is None or (Path(model).is_file()):
        path = backbone if model is None else model
        if model is not None and backbone is not None:
            raise ValueError(f"--model {model} is a checkpoint file; --backbone is only for presets and folders.")
        descriptor = load_user_descriptor(path)
        multiple = int(getattr(descriptor.size_requirements, "multiple_of", 1) or 1)
        if getattr(descriptor, "scale", 1) != 1:
            raise ValueError(f"{path} is a ×{descriptor.scale} super-resolution network; restoration needs scale 1.")
        return LoadedModel(descriptor.model.eval(), multiple, f"{descriptor.architecture.id} from {path}")
    if model in list_models() and not Path(model).is_dir():  # a local folder wins over a preset name
        net = build_model(model)
        if backbone is None:
            print(
                f"warning: --model {model} is an untrained preset (random weights); pass --backbone with the "
                "backbone's weights or a trained folder for meaningful results.",
                file=sys.stderr,
            )
            desc = f"preset {model} (untrained)"
        else:
            inner = getattr(net, "backbone", net)
            state = load_user_descriptor(backbone).model.state_dict()
            try:
                inner.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise ValueError(f"--backbone {backbone} does not fit the backbone of preset {model}: {err}") from err
            desc = f"preset {model} with backbone weights from {backbone}"
        return LoadedModel(net.eval(), model_multiple(net), desc)
    loaded = load_restoration_model(model, backbone=backbone)
    desc = f"{model}" + (f" with backbone {backbone}" if backbone else "")
    return LoadedModel(loaded, model_multiple(loaded), desc)
