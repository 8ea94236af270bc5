"""Which settings a resumed run may change: the checkpoint records them, a resume compares.

A checkpoint stores the settings of the run that wrote it (the whole recipe when trained from
the command line, the :class:`~perceive_ir.training.TrainConfig` otherwise). Resuming with a
different value of a setting that changes the result — the learning rate, the batch size, the
schedule (``max_steps``, ``epochs``, warmup), the model, the data, the loss — would silently
stop being the uninterrupted run, so it is refused, naming the key, unless the caller allows
the changes; they are then logged in the run folder (:data:`CHANGES_LOG`).

Settings that only change how the run is watched or stored (:data:`FREE_SETTINGS`) may
always change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["CHANGES_LOG", "FREE_SETTINGS", "describe_changes", "encode_settings", "log_changes", "settings_changes"]

#: Dotted settings that do not change the trained weights: free to differ on resume.
FREE_SETTINGS: frozenset[str] = frozenset({
    "train.output_dir", "train.progress", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints",
    "train.num_workers",
})

#: File of the run folder where allowed changes are recorded, one block per resume.
CHANGES_LOG = "resume-changes.log"

_MISSING = "<not set>"


def encode_settings(settings: Mapping[str, Any]) -> str:
    """The settings as the JSON text a checkpoint stores (tuples become lists, others ``str``)."""
    return json.dumps(settings, sort_keys=True, default=str)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def settings_changes(saved: str, now: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The result-affecting settings that differ: ``(dotted key, saved value, value now)``.

    Args:
        saved: What :func:`encode_settings` stored in the checkpoint.
        now: The settings of the run about to resume.

    Example:
        >>> saved = encode_settings({"train": {"lr": 1e-3, "log_every": 10}})
        >>> settings_changes(saved, {"train": {"lr": 0.1, "log_every": 1}})
        [('train.lr', 0.001, 0.1)]
    """
    before = _flatten(json.loads(saved))
    after = _flatten(json.loads(encode_settings(now)))
    changes = []
    for key in sorted(set(before) | set(after)):
        if key in FREE_SETTINGS:
            continue
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old != new:
            changes.append((key, old, new))
    return changes


def describe_changes(changes: list[tuple[str, Any, Any]]) -> str:
    """``key: old -> new`` per change, separated by semicolons.

    Example:
        >>> describe_changes([("train.lr", 0.001, 0.1)])
        'train.lr: 0.001 -> 0.1'
    """
    return "; ".join(f"{key}: {old!r} -> {new!r}" for key, old, new in changes)


def log_changes(run_dir: str | Path, checkpoint: Path, changes: list[tuple[str, Any, Any]]) -> Path:
    """Append the allowed changes of a resume to the run folder's :data:`CHANGES_LOG`."""
    path = Path(run_dir) / CHANGES_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = [f"{stamp} resumed from {checkpoint} with changed settings (allowed):"]
    lines += [f"  {key}: {old!r} -> {new!r}" for key, old, new in changes]
    with path.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path
