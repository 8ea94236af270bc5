"""Write and read the JSON file lists of the standard datasets (and a CLI to write them).

Usage::

    python -m perceive_ir.data.filelists --task rain100l --root /data/Rain100L --out lists/

writes ``lists/rain100l_train.json`` and ``lists/rain100l_test.json``. Paths inside are
relative to the root, which the file also records (override it when loading elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes
from ..errors import InvalidValueError, MissingFileError
from .layouts import LAYOUTS, get_layout
from .paired import PairItem

__all__ = ["FILELIST_FORMAT", "scan_dataset", "write_filelist", "read_filelist", "main"]

FILELIST_FORMAT = "perceive-ir-filelist"
_VERSION = 1


def scan_dataset(name: str, root: str | os.PathLike[str], split: str) -> dict[str, Any]:
    """Scan ``root`` with the layout ``name`` and return the file-list document (not written).

    Raises:
        ValueError: unknown dataset or split; unmatched files (listed); empty folders.
        FileNotFoundError: an expected folder is missing.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data.io import save_png
        >>> root = Path(tempfile.mkdtemp())
        >>> save_png(torch.rand(3, 8, 8), root / "hazy" / "0001_0.8_0.2.jpg")
        >>> save_png(torch.rand(3, 8, 8), root / "gt" / "0001.png")
        >>> scan_dataset("sots_outdoor", root, "test")["items"][0]["clean"]
        'gt/0001.png'
    """
    layout = get_layout(name)
    if split not in layout.splits:
        raise InvalidValueError(f"Dataset {name!r} has splits {list(layout.splits)}, got split={split!r}.")
    root = Path(root).resolve()
    if not root.is_dir():
        raise MissingFileError(f"`root` folder not found: {root}")
    items = layout.scan(root, split)
    if not items:
        raise InvalidValueError(f"No samples found for {name!r} ({split}) under {root}.")
    return {
        "format": FILELIST_FORMAT,
        "version": _VERSION,
        "dataset": name,
        "task": layout.task,
        "split": split,
        "description": layout.description,
        "root": str(root),
        "items": items,
    }


def write_filelist(
    name: str,
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    splits: Sequence[str] | None = None,
) -> list[Path]:
    """Scan a dataset and write one JSON file list per split (atomically).

    Args:
        name: Dataset layout (``bsd400_wed``, ``cbsd68``, ``rain100l``, ``reside_ots``,
            ``sots_outdoor``, ``gopro``, ``lol``).
        root: The dataset's root folder.
        out: Output folder (files ``<name>_<split>.json``), or a ``.json`` path for one split.
        splits: Splits to scan; default all of the layout's splits (a missing one is an error).

    Returns:
        The written paths.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data.io import save_png
        >>> root = Path(tempfile.mkdtemp()); save_png(torch.rand(3, 8, 8), root / "01.png")
        >>> [p.name for p in write_filelist("cbsd68", root, root / "lists")]
        ['cbsd68_test.json']
    """
    layout = get_layout(name)
    splits = list(layout.splits if splits is None else splits)
    out = Path(out)
    if out.suffix == ".json" and len(splits) != 1:
        raise InvalidValueError(f"`out` is one file ({out}) but {len(splits)} splits were requested: {splits}.")
    written = []
    for split in splits:
        doc = scan_dataset(name, root, split)
        path = out if out.suffix == ".json" else out / f"{name}_{split}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(doc, indent=1).encode())
        written.append(path)
    return written


def read_filelist(
    path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
) -> tuple[dict[str, Any], list[PairItem]]:
    """Read a file list: its metadata and its items with absolute paths.

    Args:
        path: The JSON file written by :func:`write_filelist`.
        root: Use this root instead of the recorded one (data moved to another machine).

    Returns:
        ``(metadata, items)``; metadata is the document without ``items``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: not a perceive-ir file list, or malformed.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data.io import save_png
        >>> root = Path(tempfile.mkdtemp()); save_png(torch.rand(3, 8, 8), root / "01.png")
        >>> meta, items = read_filelist(write_filelist("cbsd68", root, root / "lists")[0])
        >>> meta["task"], len(items)
        ('denoise', 3)
    """
    path = Path(path)
    expected = "a JSON file list written by `python -m perceive_ir.data.filelists`"
    if path.is_dir():
        raise InvalidValueError(f"File list {path} is a folder; expected {expected}.")
    if not path.is_file():
        raise MissingFileError(f"File list not found: {path}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidValueError(f"File list {path} is not a text file (an image?); expected {expected}.") from None
    except json.JSONDecodeError as exc:
        raise InvalidValueError(f"File list {path} is not valid JSON ({exc}); expected {expected}.") from None
    if not isinstance(doc, dict) or doc.get("format") != FILELIST_FORMAT or not isinstance(doc.get("items"), list):
        raise InvalidValueError(f"{path} is not a perceive-ir file list (missing format/items).")
    base = Path(root) if root is not None else Path(doc["root"])
    items = []
    for i, it in enumerate(doc["items"]):
        try:
            items.append(
                PairItem(
                    name=it["name"],
                    clean=base / it["clean"],
                    degraded=None if it.get("degraded") is None else base / it["degraded"],
                    degradation=it.get("degradation"),
                    seed=it.get("seed"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise InvalidValueError(f"{path}: item {i} is malformed ({exc!r}): {it!r}") from exc
    meta = {k: v for k, v in doc.items() if k != "items"}
    return meta, items


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m perceive_ir.data.filelists --task NAME --root DIR --out DIR [--split S ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m perceive_ir.data.filelists",
        description="Scan a standard restoration dataset and write its JSON file lists.",
        epilog="Datasets: " + "; ".join(f"{k}: {v.description}" for k, v in LAYOUTS.items()),
    )
    parser.add_argument("--task", required=True, choices=sorted(LAYOUTS), help="dataset layout name")
    parser.add_argument("--root", required=True, help="the dataset's root folder")
    parser.add_argument("--out", required=True, help="output folder (or a .json file for one split)")
    parser.add_argument("--split", action="append", help="split to scan (repeatable); default: all")
    args = parser.parse_args(argv)
    try:
        paths = write_filelist(args.task, args.root, args.out, args.split)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        n = len(json.loads(p.read_text())["items"])
        print(f"wrote {p} ({n} items)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
