"""Reading the files the library loads, with errors that name the file and what was expected.

Every loader of the package reads ``config.json``, ``*.safetensors`` and ``state.pt`` files
through these helpers, so that

* a truncated, empty or garbage file raises a ``ValueError`` naming the file and what it
  should have held, never a bare ``SafetensorError`` or ``JSONDecodeError``;
* weights holding NaN or Inf are refused at load, naming the tensors;
* a pickle a safe load refuses is reported without torch's advice to retry with
  ``weights_only=False``, the unsafe advice for exactly that file.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from .errors import InvalidValueError, MissingFileError

__all__ = [
    "check_finite_weights",
    "looks_like_safetensors",
    "read_json_config",
    "read_safetensors",
    "safe_torch_load",
    "without_unsafe_advice",
]


def read_json_config(path: str | os.PathLike[str], what: str = "a model configuration") -> dict[str, Any]:
    """The JSON object in ``path``.

    Args:
        path: The file, e.g. a ``config.json`` written by ``save_pretrained``.
        what: What the file should hold, for error messages.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not valid UTF-8 JSON, or not a JSON object.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "config.json"
        >>> _ = path.write_text('{"dim": 8}')
        >>> read_json_config(path)
        {'dim': 8}
    """
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidValueError(f"{path} is not valid JSON ({err}); expected {what}.") from None
    except IsADirectoryError:
        raise InvalidValueError(f"{path} is a folder; expected a JSON file with {what}.") from None
    if not isinstance(value, dict):
        raise InvalidValueError(f"{path} holds a JSON {type(value).__name__}; expected a JSON object with {what}.")
    return value


def check_finite_weights(state: Mapping[str, Tensor] | nn.Module, source: str) -> None:
    """Refuse weights holding NaN or Inf (a diverged run, a corrupt file), naming the tensors.

    Args:
        state: A state dict, or a module (its parameters and buffers are checked).
        source: Where the weights came from (a file name), for the message.

    Raises:
        ValueError: a floating-point tensor holds NaN or Inf.

    Example:
        >>> check_finite_weights({"w": torch.ones(2)}, "model.safetensors")
        >>> check_finite_weights({"w": torch.tensor([1.0, float("nan")])}, "a.safetensors")
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: a.safetensors holds NaN or Inf weights in w; ...
    """
    items = state.state_dict().items() if isinstance(state, nn.Module) else state.items()
    bad = [name for name, t in items if isinstance(t, Tensor) and t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidValueError(
            f"{source} holds NaN or Inf weights in {', '.join(bad[:5])}{more}; refusing to load them "
            "(a diverged or corrupt checkpoint)."
        )


def read_safetensors(
    path: str | os.PathLike[str], what: str = "model weights", device: str | torch.device = "cpu"
) -> dict[str, Tensor]:
    """The tensors of a ``.safetensors`` file, checked to be finite.

    Args:
        path: The file.
        what: What the file should hold, for error messages.
        device: Where the tensors are loaded.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a readable safetensors file (truncated, empty, another
            format), or holds NaN/Inf weights.

    Example:
        >>> import tempfile
        >>> from safetensors.torch import save_file
        >>> path = str(Path(tempfile.mkdtemp()) / "model.safetensors")
        >>> save_file({"w": torch.zeros(2)}, path)
        >>> read_safetensors(path)["w"].shape
        torch.Size([2])
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"Weights file not found: {path} (expected {what}).")
    try:
        state = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise InvalidValueError(
            f"{path} is not a readable safetensors file ({err}); expected {what}. The file may be truncated "
            "(an interrupted download or copy) or in another format."
        ) from None
    check_finite_weights(state, str(path))
    return state


def without_unsafe_advice(message: str) -> str:
    """``message`` with torch's advice to retry with ``weights_only=False`` taken out.

    Only the reason the safe loader gives (e.g. ``Unsupported global: GLOBAL posix.system``)
    is kept: running that file's pickle is what the safe load just prevented.

    Example:
        >>> advice = "Re-running `torch.load` with `weights_only` set to `False` will likely succeed."
        >>> without_unsafe_advice(advice + chr(10) + "WeightsUnpickler error: Unsupported global: x")
        'Unsupported global: x'
    """
    if "weights_only" not in message:
        return message
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n|$)", message)
    if found:
        return found.group(1).strip()
    # newer torch: the advice, the reason and a pointer to the docs, one paragraph each
    kept = [part.strip() for part in message.splitlines() if part.strip() and "weights_only" not in part]
    return " ".join(kept) or "it holds Python objects that a safe load does not run"


def safe_torch_load(path: str | os.PathLike[str], what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with errors naming the file.

    Args:
        path: The file (e.g. a training checkpoint's ``state.pt``).
        what: What the file should hold, for error messages.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is refused by the safe loader (it would run code) or is not a
            torch file; the message never advises ``weights_only=False``.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "state.pt"
        >>> torch.save({"step": 3}, path)
        >>> safe_torch_load(path, "a training state")
        {'step': 3}
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"File not found: {path} (expected {what}).")
    if looks_like_safetensors(path):
        raise InvalidValueError(
            f"{path} is a safetensors file, not a torch.save file, despite its name: rename it to "
            f"{path.with_suffix('.safetensors').name} (expected {what})."
        )
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it reads anyway; the error below says enough
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise InvalidValueError(
            f"Refused to load {path}: {_one_line(err)}. It should hold {what} made only of tensors, numbers, "
            "strings, lists and dicts; a file that needs more would run code when loaded (nothing in it was run)."
        ) from None
    except Exception as err:  # truncated zips raise RuntimeError, empty files EOFError, odd pickles others
        raise InvalidValueError(
            f"{path} is not a readable torch file ({_one_line(err)}); expected {what}. The file is truncated "
            "or not a torch.save file (an interrupted download or copy, or another format)."
        ) from None


def looks_like_safetensors(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` starts as a safetensors file does: an 8-byte little-endian header size, then a JSON object.

    Example:
        >>> import tempfile
        >>> from safetensors.torch import save_file
        >>> path = Path(tempfile.mkdtemp()) / "weights.pth"
        >>> save_file({"w": torch.zeros(2)}, str(path))
        >>> looks_like_safetensors(path)
        True
    """
    try:
        with open(path, "rb") as f:
            head = f.read(9)
        size = int.from_bytes(head[:8], "little")
        return len(head) == 9 and head[8:9] == b"{" and 0 < size <= Path(path).stat().st_size - 8
    except OSError:
        return False


def _one_line(err: Exception) -> str:
    """A load error's reason on one line, without torch's unsafe advice (its type when it says nothing)."""
    return " ".join(without_unsafe_advice(str(err)).split()).rstrip(".") or type(err).__name__
