"""Training checkpoints: atomic folders that let ``resume`` continue a run exactly.

A checkpoint is a folder ``step-00000123`` under the run's ``checkpoints/`` directory holding

* ``model.safetensors``: the trainable parameters and all buffers of the model (frozen
  parameters, e.g. CLIP or DINOv2, are rebuilt by the model factory and never copied);
* ``state.pt``: optimizer, scheduler, loop counters, RNG states (python, numpy, torch CPU,
  CUDA) and any extra state (difficulty weights, callbacks), loaded with
  ``torch.load(weights_only=True)``.

The folder is written under a temporary name and renamed into place, so a kill mid-write
never leaves a half checkpoint that ``latest_checkpoint`` would pick.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from safetensors.torch import save_file
from torch import Tensor, nn

from .._atomic import atomic_folder, remove_stale_temporaries
from .._files import read_safetensors, safe_torch_load
from .._validation import check_int
from ..errors import InvalidValueError, MissingFileError, UnknownNameError

__all__ = [
    "CHECKPOINT_DIR",
    "capture_rng_state",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_trainable_state_dict",
    "load_training_state",
    "resolve_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
    "trainable_state_dict",
]

#: Sub-folder of a run's output directory holding its checkpoints.
CHECKPOINT_DIR = "checkpoints"
_MODEL_FILE = "model.safetensors"
_STATE_FILE = "state.pt"
_NAME = re.compile(r"^step-(\d+)$")


def capture_rng_state() -> dict[str, Any]:
    """Every global random state a training step may draw from, as plain tensors and lists.

    Example:
        >>> state = capture_rng_state()
        >>> a = torch.rand(1); restore_rng_state(state); torch.equal(a, torch.rand(1))
        True
    """
    np_state = cast(tuple[Any, ...], np.random.get_state())  # legacy=True, the default: the tuple form
    state: dict[str, Any] = {
        "python": _to_plain(random.getstate()),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` captured."""
    random.setstate(_to_tuple(state["python"]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_plain(value: Any) -> Any:
    return [_to_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def _to_tuple(value: Any) -> Any:
    return tuple(_to_tuple(v) for v in value) if isinstance(value, list) else value


def trainable_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """State of ``model`` minus its frozen parameters (``requires_grad=False``).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        >>> _ = net[0].requires_grad_(False)
        >>> sorted(trainable_state_dict(net))
        ['1.bias', '1.weight']
    """
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in frozen}


def load_trainable_state_dict(model: nn.Module, state: dict[str, Tensor]) -> None:
    """Load a :func:`trainable_state_dict`; every trainable parameter must be in it.

    Raises:
        KeyError: trainable parameters are missing from ``state`` or ``state`` has unknown keys.
    """
    own = model.state_dict()
    unknown = sorted(set(state) - set(own))
    missing = sorted(set(trainable_state_dict(model)) - set(state))
    if unknown or missing:
        raise UnknownNameError(
            f"Checkpoint does not match the model: missing {missing[:10]}, unexpected {unknown[:10]}."
        )
    model.load_state_dict(state, strict=False)


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoints of a run (``run_dir`` or its ``checkpoints/`` folder), oldest first.

    Example:
        >>> import tempfile
        >>> list_checkpoints(tempfile.mkdtemp())
        []
    """
    root = Path(run_dir)
    if root.name != CHECKPOINT_DIR and (root / CHECKPOINT_DIR).is_dir():
        root = root / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name)) and (p / _STATE_FILE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint of a run, or ``None``."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path | None:
    """The checkpoint folder ``path`` names: itself if it is one, else its run's newest, else ``None``.

    Args:
        path: A ``step-*`` folder, or a run directory (or its ``checkpoints/`` folder).

    Example:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> resolve_checkpoint(run) is None
        True
        >>> step = save_checkpoint(run, 3, nn.Linear(2, 2), {"step": 3})
        >>> resolve_checkpoint(run) == step == resolve_checkpoint(step)
        True
    """
    folder = Path(path)
    return folder if (folder / _STATE_FILE).is_file() else latest_checkpoint(folder)


def load_training_state(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The training state (``state.pt``) of a checkpoint folder, read safely (``weights_only``)."""
    return safe_torch_load(Path(folder) / _STATE_FILE, "a training state (optimizer, counters, random states)")


def save_checkpoint(
    run_dir: str | os.PathLike[str],
    step: int,
    model: nn.Module,
    state: dict[str, Any],
    keep: int | None = 3,
) -> Path:
    """Write ``checkpoints/step-<step>`` atomically and keep only the newest ``keep`` ones.

    Args:
        run_dir: The run's output directory.
        step: Optimizer step the checkpoint was taken after.
        model: The (unwrapped) model; its trainable parameters and buffers are saved.
        state: Everything else, made of tensors, numbers, strings, lists and dicts
            (``torch.load(weights_only=True)`` must be able to read it back).
        keep: How many checkpoints to keep (``None``: all).

    Returns:
        The checkpoint folder.

    Example:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> path = save_checkpoint(run, 5, nn.Linear(2, 2), {"step": 5})
        >>> path.name, load_checkpoint(path, nn.Linear(2, 2))["step"]
        ('step-00000005', 5)
    """
    check_int(keep, "keep", optional=True)
    root = Path(run_dir) / CHECKPOINT_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    with atomic_folder(final) as tmp:
        save_file(trainable_state_dict(model), str(tmp / _MODEL_FILE))
        torch.save(state, tmp / _STATE_FILE)
    remove_stale_temporaries(root, "step-*")  # leftovers of a run killed while writing
    if keep is not None:
        for old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    path: str | os.PathLike[str], model: nn.Module, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Load a checkpoint folder's weights into ``model`` and return its saved ``state``.

    Args:
        path: A ``step-*`` folder, or a run directory (its latest checkpoint is used).
        model: The (unwrapped) model, built as for the original run.
        state: The folder's training state when the caller already read it
            (:func:`load_training_state`), so it is not read again.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
    """
    folder = resolve_checkpoint(path)
    if folder is None:
        raise MissingFileError(f"No checkpoint found at {Path(path)} (expected a step-* folder or a run directory).")
    try:
        load_trainable_state_dict(model, read_safetensors(folder / _MODEL_FILE, "the run's trainable weights"))
    except (KeyError, RuntimeError) as err:  # another architecture, or other sizes, than the run trained
        detail = str(err.args[0]) if err.args else type(err).__name__
        if len(detail) > 600:
            detail = detail[:600] + " ..."
        raise InvalidValueError(f"{folder} was saved from another model than the one built now: {detail} "
                                "Resume with the run's own model settings.") from None
    return load_training_state(folder) if state is None else state
