"""Read a quality-triplet manifest as a dataset of aligned (low, medium, high) crops."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ..errors import InvalidValueError, MissingFileError
from .draws import ReadKey, read_generator
from .io import read_image
from .transforms import PairedAugment
from .triplet_manifest import MANIFEST_NAME, TIERS, load_manifest

__all__ = ["TripletDataset"]


class TripletDataset(Dataset[dict[str, Any]]):
    """Read a triplet manifest; return aligned random crops of (low, medium, high).

    Samples are ``{"low", "medium", "high", "task", "name"}``; the three images are cropped
    at the same location and flipped together, as the authors' ``PromptTripletDataset``
    does: 224² crops, horizontal flips only, and images smaller than the crop upscaled
    bicubically until it fits (:func:`~perceive_ir.data.transforms.upscale_to_cover`)
    ``[paper: authors src/perceiveIR/stage1_data.py, PromptTripletDataset._synchronized_crop]``.

    Args:
        manifest: ``manifest.json`` written by :func:`~perceive_ir.training.triplets.build_triplets` (or its folder).
        crop: Crop side, or ``None`` for whole images.
        hflip: Random aligned horizontal flips.
        seed: Reproducible crops and flips when given: a read with a
            :class:`~perceive_ir.data.draws.ReadKey` ``(index, epoch, position)`` (what the
            training loop gives) draws from ``(seed, epoch, position, index)``, so each repeat
            of a scene in an epoch gets its own crop; a plain ``dataset[index]`` draws from
            ``(seed, epoch, index)`` (see :meth:`set_epoch`). Without a seed every read draws
            from the global RNG (fresh each time, as the authors' datasets do).

    Raises:
        FileNotFoundError: the manifest or a listed image is missing.
        ValueError: the manifest lists no scenes.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data import PairedFolderDataset
        >>> from perceive_ir.data.io import save_png
        >>> from perceive_ir.training.triplets import build_triplets
        >>> root = Path(tempfile.mkdtemp())
        >>> for n in ("a", "b"):
        ...     save_png(torch.rand(3, 16, 16), root / "lq" / f"{n}.png")
        ...     save_png(torch.rand(3, 16, 16), root / "gt" / f"{n}.png")
        >>> m = build_triplets(PairedFolderDataset(root / "lq", root / "gt", task=0), root / "t",
        ...                    strategy="mild", progress=False)
        >>> tuple(TripletDataset(m, crop=8)[0]["medium"].shape)
        (3, 8, 8)
    """

    #: Reads accept :class:`~perceive_ir.data.draws.ReadKey` keys (fresh draws per repeat).
    reads_keys = True

    def __init__(
        self,
        manifest: str | os.PathLike[str],
        *,
        crop: int | None = 224,
        hflip: bool = True,
        seed: int | None = None,
    ) -> None:
        path = Path(manifest)
        if path.is_dir():
            path = path / MANIFEST_NAME
        doc = load_manifest(path)
        if doc is None:
            raise MissingFileError(f"Triplet manifest not found: {path}")
        self.root = path.parent
        self.scenes: list[dict[str, Any]] = list(doc["scenes"])
        if not self.scenes:
            raise InvalidValueError(f"{path} lists no scenes.")
        missing = [str(self.root / s[t]) for s in self.scenes for t in TIERS if not (self.root / s[t]).is_file()]
        if missing:
            raise MissingFileError(f"{len(missing)} triplet image(s) missing, e.g. {missing[:10]}")
        self.augment = PairedAugment(crop, hflip=hflip)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of plain index reads (only matters with ``seed``; keyed reads carry their epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, key: int | ReadKey) -> dict[str, Any]:
        index = key.index if isinstance(key, ReadKey) else key
        s = self.scenes[index]
        gen = read_generator(self.seed, index, self.epoch, key if isinstance(key, ReadKey) else None)
        imgs = [read_image(self.root / s[t]) for t in TIERS]
        low, medium, high = self.augment(imgs, gen)
        return {"low": low, "medium": medium, "high": high, "task": int(s["task"]), "name": s["name"]}
