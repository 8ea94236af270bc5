"""What a model source names, said once: a local file or folder, a Hub repository, or a preset.

:func:`parse_source` reads a source string the way :func:`~perceive_ir.models.load_model` uses
it. A prefix makes the kind explicit (timm's spelling for the Hub):

* ``preset:NAME`` — a preset of :func:`~perceive_ir.models.list_models`;
* ``hf-hub:ORG/NAME`` — a Hugging Face Hub repository;
* ``local-dir:PATH`` — a local folder (``file:PATH`` a local file); a path written with a
  folder part (``./name``, ``runs/final``, an absolute path) is local too.

Without a prefix the string names an existing file or folder, else a preset, else a Hub
repository id; nothing is tried and dropped. A bare name that is **both** an existing local
file or folder **and** a preset name is an error that says how to pick one (``./NAME`` or
``preset:NAME``).

Example:
    >>> parse_source("preset:nafnet-small")
    ModelSource(kind='preset', value='nafnet-small')
    >>> parse_source("hf-hub:someone/perceive-ir-3task")
    ModelSource(kind='hf-hub', value='someone/perceive-ir-3task')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InvalidValueError, MissingFileError
from .preset_registry import list_models

__all__ = ["PREFIXES", "ModelSource", "parse_source"]

# the kinds of source parse_source tells apart (ModelDescriptor.source_kind adds "module")
_Kind = Literal["file", "folder", "hf-hub", "preset"]

#: Prefix → kind; ``local-dir:`` and ``file:`` name local paths.
PREFIXES: dict[str, str] = {"preset:": "preset", "hf-hub:": "hf-hub", "local-dir:": "folder", "file:": "file"}


@dataclass(frozen=True)
class ModelSource:
    """A model source with its kind made explicit.

    Attributes:
        kind: ``"file"``, ``"folder"``, ``"hf-hub"`` or ``"preset"``.
        value: The path, the repository id or the preset name (without its prefix).
    """

    kind: _Kind
    value: str


def parse_source(source: str | os.PathLike[str], *, presets: list[str] | None = None) -> ModelSource:
    """Say what kind of model source ``source`` is, without loading anything.

    Args:
        source: A path, ``hf-hub:ORG/NAME``, a Hub repository id, ``preset:NAME`` or a preset name.
        presets: The preset names to know; ``None``: :func:`~perceive_ir.models.list_models`.

    Returns:
        The :class:`ModelSource`.

    Raises:
        ValueError: an empty source, an empty value after a prefix, an unknown ``preset:`` name, or a bare
            name that is both a local file or folder and a preset (the message says how to pick).
        FileNotFoundError: a ``local-dir:`` or ``file:`` path that is not one; a symbolic link that leads
            nowhere.

    Example:
        >>> parse_source("restormer-small")
        ModelSource(kind='preset', value='restormer-small')
        >>> parse_source("someone/some-model").kind
        'hf-hub'
    """
    text = os.fspath(source) if isinstance(source, os.PathLike) else source
    if not isinstance(text, str) or not text.strip():
        raise InvalidValueError(f"`source` must be a non-empty path, Hub id or preset name, got {source!r}.")
    names = list_models() if presets is None else presets
    if not isinstance(source, os.PathLike):
        for prefix, kind in PREFIXES.items():
            if text.startswith(prefix):
                return _prefixed(text[len(prefix):], kind, prefix, names)
    if os.path.islink(text) and not os.path.exists(text):
        raise MissingFileError(f"{text} is a symbolic link that leads nowhere (a loop, or a missing target).")
    path = Path(text)
    if path.exists():
        kind = "file" if path.is_file() else "folder"
        if text in names and not isinstance(source, os.PathLike):
            raise InvalidValueError(
                f"Model source {text!r} is both a local {kind} and a preset name: write ./{text} (or local-dir:{text}) "
                f"for the {kind}, preset:{text} for the preset."
            )
        return ModelSource(kind, text)  # type: ignore[arg-type]  # kind is "file" or "folder"
    if text in names:
        return ModelSource("preset", text)
    return ModelSource("hf-hub", text)


def _prefixed(value: str, kind: str, prefix: str, presets: list[str]) -> ModelSource:
    if not value.strip():
        raise InvalidValueError(f"`source` {prefix!r} needs a value after the prefix, e.g. {prefix}NAME.")
    if kind == "preset" and value not in presets:
        raise InvalidValueError(f"Unknown preset {value!r} in `source` {prefix}{value}; known: {', '.join(presets)}.")
    if kind in ("file", "folder"):
        path = Path(value)
        if kind == "folder" and not path.is_dir():
            raise MissingFileError(f"`source` {prefix}{value}: {value} is not an existing folder.")
        if kind == "file" and not path.is_file():
            raise MissingFileError(f"`source` {prefix}{value}: {value} is not an existing file.")
    return ModelSource(kind, value)  # type: ignore[arg-type]  # one of PREFIXES' kinds
