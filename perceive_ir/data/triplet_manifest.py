"""The on-disk format of stage-1 quality triplets: ``manifest.json`` and the three image folders.

A triplet build (:func:`perceive_ir.training.triplets.build_triplets`) writes 8-bit PNGs under
``out_dir/{low,medium,high}/`` and describes them in ``out_dir/manifest.json``::

    {"format": "perceive-ir-triplets", "version": 2,
     "settings": {...what the build was made with...},
     "scenes": [{"name", "task", "task_name", "low", "medium", "high", "strategy", "seed",
                 "fold_key", ("sigma"), ("fold"), ...}, ...]}

:class:`~perceive_ir.data.TripletDataset` reads it. The manifest is rewritten atomically after
every scene, so an interrupted build leaves a valid manifest of the scenes it finished.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes
from .._files import read_json_config
from ..errors import InvalidValueError

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "TIERS",
    "load_manifest",
    "new_manifest",
    "tier_paths",
    "write_manifest",
]

#: The manifest's file name in a build's folder.
MANIFEST_NAME = "manifest.json"
#: The value of the manifest's ``"format"`` key.
MANIFEST_FORMAT = "perceive-ir-triplets"
#: The three quality tiers, each a folder of PNGs.
TIERS: tuple[str, str, str] = ("low", "medium", "high")
_VERSION = 2


def load_manifest(path: Path) -> dict[str, Any] | None:
    """The parsed triplet manifest at ``path``, or ``None`` if the file does not exist.

    Raises:
        ValueError: the file is not valid JSON or not a triplet manifest.

    Example:
        >>> from pathlib import Path
        >>> load_manifest(Path("/nonexistent/manifest.json")) is None
        True
    """
    if not path.is_file():
        return None
    doc = read_json_config(path, "a triplet manifest written by build_triplets")
    if doc.get("format") != MANIFEST_FORMAT:
        raise InvalidValueError(f"{path} is not a perceive-ir triplet manifest.")
    return doc


def new_manifest(settings: dict[str, Any]) -> dict[str, Any]:
    """An empty manifest document for a build made with ``settings``.

    Example:
        >>> new_manifest({"strategy": "mild"})["scenes"]
        []
    """
    return {"format": MANIFEST_FORMAT, "version": _VERSION, "settings": settings, "scenes": []}


def write_manifest(path: Path, doc: dict[str, Any]) -> None:
    """Write the manifest document ``doc`` to ``path`` atomically (indented JSON)."""
    atomic_write_bytes(path, json.dumps(doc, indent=1).encode())


def _file_stem(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scene"
    return f"{safe[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def tier_paths(name: str) -> dict[str, str]:
    """Where a scene's three images go, relative to the build's folder: a safe file stem plus a name hash.

    Example:
        >>> tier_paths("a/b c")["low"]
        'low/a_b_c-0af99a60.png'
    """
    stem = _file_stem(name)
    return {tier: f"{tier}/{stem}.png" for tier in TIERS}
