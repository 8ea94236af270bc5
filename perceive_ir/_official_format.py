"""Reading checkpoints written by the Perceive-IR authors' own training code, safely.

The authors save ``torch.save`` dicts (pickles). This module reads them with
``torch.load(..., weights_only=True)`` only: tensors, dicts, lists, tuples, strings, numbers,
``None`` and booleans load; a pickle that would run code or build arbitrary objects is refused
before anything runs. Every failure becomes one :class:`OfficialCheckpointError` naming the
file and saying what was expected and what was found.

It is infrastructure: the method packages (``perceive/``) and the model factory (``models/``)
both use it to read and to recognise the authors' formats.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ._files import safe_torch_load
from .errors import InvalidValueError, MissingFileError

__all__ = ["OfficialCheckpointError", "describe_checkpoint", "flatten_checkpoint", "load_official_checkpoint"]

# keys that mark the authors' stage-2 training checkpoint (train.py save_checkpoint)
_RESTORER_MARKERS = ("model", "optimizer")


class OfficialCheckpointError(InvalidValueError):
    """A file is not a readable checkpoint of the expected Perceive-IR authors' format.

    The message is one line: the file, what was expected, and what was found.

    Example:
        >>> err = OfficialCheckpointError("ckpt.pth: expected a dict, found a list")
        >>> isinstance(err, ValueError)
        True
    """


def load_official_checkpoint(path: str | os.PathLike[str], expected: str) -> dict[str, Any]:
    """Load a ``torch.save`` dict with ``weights_only=True`` (no code runs), onto the CPU.

    Args:
        path: The checkpoint file.
        expected: What the caller expects, for error messages (e.g. ``"a stage-1 prompt
            checkpoint"``).

    Returns:
        The loaded top-level dict (nested dicts are left as they are; see
        :func:`flatten_checkpoint`).

    Raises:
        FileNotFoundError: ``path`` is not an existing file.
        OfficialCheckpointError: the file is truncated, not a ``torch.save`` file, contains
            objects a weights-only load refuses (a pickle with code in it), or is not a dict.

    Example:
        >>> import tempfile, torch
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     torch.save({"iteration": 3, "weight": torch.zeros(2)}, f"{tmp}/ckpt.pth")
        ...     sorted(load_official_checkpoint(f"{tmp}/ckpt.pth", "a checkpoint"))
        ['iteration', 'weight']
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"{file}: no such file (expected {expected}).")
    try:
        loaded = safe_torch_load(file, expected)
    except ValueError as err:  # truncated, not a torch file, or a pickle that would run code
        raise OfficialCheckpointError(str(err)) from None
    if not isinstance(loaded, Mapping):
        raise OfficialCheckpointError(
            f"{file}: expected {expected} (a torch.save dict), found a {type(loaded).__name__}."
        )
    return dict(loaded)


def flatten_checkpoint(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into dotted keys: ``{"a": {"b": 1}}`` → ``{"a.b": 1}``.

    The authors' files nest state dicts (``checkpoint["prompt_learner"]["context"]``); their
    documentation names the leaves with dotted keys (``prompt_learner.context``). Non-string
    keys (the optimiser's parameter indices) are written with ``str``.

    Example:
        >>> flatten_checkpoint({"prompt_learner": {"context": 1}, "iteration": 2})
        {'prompt_learner.context': 1, 'iteration': 2}
    """
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_checkpoint(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def describe_checkpoint(mapping: Mapping[str, Any]) -> str:
    """A short phrase saying what a loaded checkpoint dict looks like, for error messages.

    Example:
        >>> describe_checkpoint({"model": {}, "optimizer": {}, "config": {}, "iteration": 5})
        'looks like a restorer checkpoint (keys model, optimizer, config, iteration)'
        >>> import torch
        >>> describe_checkpoint({"conv.weight": torch.zeros(1)})
        'looks like a plain state dict (1 tensors, e.g. conv.weight)'
    """
    keys = [str(k) for k in mapping]
    shown = ", ".join(keys[:6]) + (", …" if len(keys) > 6 else "")
    if not keys:
        return "is an empty dict"
    if all(k in mapping for k in _RESTORER_MARKERS) and isinstance(mapping.get("model"), Mapping):
        return f"looks like a restorer checkpoint (keys {shown})"
    if all(isinstance(v, torch.Tensor) for v in mapping.values()):
        return f"looks like a plain state dict ({len(keys)} tensors, e.g. {', '.join(keys[:3])})"
    return f"has keys {shown}"
