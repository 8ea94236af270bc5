"""Datasets built from the JSON file lists of the standard all-in-one benchmarks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidValueError
from .filelists import read_filelist
from .paired import PairedImageDataset

__all__ = ["FileListDataset"]


class FileListDataset(PairedImageDataset):
    """A standard dataset (Rain100L, SOTS, GoPro, LOL, BSD400+WED, CBSD68, ...) from its file list.

    Write the list once with ``python -m perceive_ir.data.filelists``; loading checks that
    every listed file exists and fails with the missing names otherwise.

    Args:
        filelist: The JSON file list.
        root: Dataset root to use instead of the one recorded in the list.
        degradations: Keep only synthesised items with these presets (e.g. ``["noise25"]``
            for the 5-task setting's σ = 25); ``None`` keeps everything.
        **kwargs: ``crop``, ``hflip``, ``vflip``, ``seed``, ``positive`` of :class:`PairedImageDataset`.

    Attributes:
        meta: The list's metadata (dataset, task, split, description, root).

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data.io import save_png
        >>> from perceive_ir.data.filelists import write_filelist
        >>> root = Path(tempfile.mkdtemp()); save_png(torch.rand(3, 16, 16), root / "01.png")
        >>> ds = FileListDataset(write_filelist("cbsd68", root, root / "lists")[0], degradations=["noise25"])
        >>> len(ds), ds[0]["name"]
        (1, '01@noise25')
    """

    def __init__(
        self,
        filelist: str | os.PathLike[str],
        *,
        root: str | os.PathLike[str] | None = None,
        degradations: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        meta, items = read_filelist(filelist, root=root)
        if degradations is not None:
            keep = set(degradations)
            items = [it for it in items if it.degradation in keep]
            if not items:
                raise InvalidValueError(f"No items of {filelist} use the degradations {sorted(keep)}.")
        self.meta = meta
        super().__init__(items, meta["task"], **kwargs)
