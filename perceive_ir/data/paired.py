"""Datasets of (degraded, clean) image pairs: from explicit items or from two folders.

A pair's degraded side is either a file or synthesised from the clean image with a named
degradation preset (e.g. ``"noise25"``), with a fixed per-item seed (reproducible test
sets) or fresh randomness (training). Samples are dicts
``{"degraded", "clean", "task", "name"}`` (plus ``"degraded_positive"`` with ``positive=True``);
``task`` is the integer task id, usable as the ``labels=`` of the degradation contrastive loss.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ..errors import InvalidValueError, MissingFileError
from .degradations import get_degradation
from .draws import ReadKey, read_generator
from .io import list_images, read_image
from .tasks import task_id as _task_id
from .tasks import task_name
from .transforms import PairedAugment

__all__ = ["POSITIVE_KEY", "PairItem", "PairedImageDataset", "PairedFolderDataset", "match_pairs"]

#: The sample key of the contrastive positive (``positive=True``): another crop of the same degraded image.
POSITIVE_KEY = "degraded_positive"


@dataclass(frozen=True)
class PairItem:
    """One sample: a clean file and either a degraded file or a degradation preset.

    Attributes:
        name: Unique sample name (used in manifests and for per-image seeds).
        clean: Path of the clean image.
        degraded: Path of the degraded image, or ``None`` to synthesise it.
        degradation: Preset name (see ``list_degradations()``) when ``degraded`` is ``None``.
        seed: Fixed seed for the synthesis (test sets), or ``None`` for fresh randomness.
    """

    name: str
    clean: Path
    degraded: Path | None = None
    degradation: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.degraded is None) == (self.degradation is None):
            raise InvalidValueError(
                f"Item {self.name!r}: give exactly one of `degraded` (a file) or `degradation` (a preset)."
            )


class PairedImageDataset(Dataset[dict[str, Any]]):
    """(degraded, clean) pairs read with Pillow as float ``3×H×W`` tensors in ``[0, 1]``.

    Args:
        items: The samples.
        task: Task name (``"denoise"``, ``"derain"``, ``"dehaze"``, ``"deblur"``, ``"lowlight"``)
            or an integer id for custom tasks.
        crop: Aligned random crop size, or ``None`` for whole images. An image smaller than
            the crop is first upscaled bicubically until the crop fits (short side = crop, as
            the authors' datasets do; :func:`~perceive_ir.data.transforms.upscale_to_cover`),
            before any degradation is synthesised on it.
        hflip: Random horizontal flips (aligned).
        vflip: Random vertical flips (aligned).
        seed: With a seed, crops, flips and on-the-fly degradations are reproducible: a read
            with a :class:`~perceive_ir.data.draws.ReadKey` ``(index, epoch, position)`` (what
            the training loop and ``TaskBalancedSampler(keys=True)`` give) draws from
            ``(seed, epoch, position, index)``, so each repeat of a sample in an epoch gets its
            own draw; a plain ``dataset[index]`` draws from ``(seed, epoch, index)`` (call
            :meth:`set_epoch`). Without a seed every read draws from the global RNG (which
            ``DataLoader`` seeds per worker).
        positive: Add ``"degraded_positive"``: another crop of the same degraded image, with
            its own position and flips, the positive of the degradation contrastive loss as
            the authors build it. A synthesised degradation is drawn once on the whole
            (upscaled) image and both crops are cut from that one realisation
            ``[paper: authors src/perceiveIR/data.py, PaperFiveDataset positive_lq; configs
            perceiveIR_3task/5task.yaml data.shared_noise_positive: true]``.
        check_files: Verify at construction that every file exists.

    Raises:
        ValueError: ``items`` is empty, or a pair's two images differ in size (when read).
        FileNotFoundError: files are missing (the message lists them).
        ImageReadError: a file cannot be decoded (the message names it).

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data.io import save_png
        >>> d = Path(tempfile.mkdtemp()); save_png(torch.rand(3, 32, 32), d / "a.png")
        >>> ds = PairedImageDataset([PairItem("a", d / "a.png", degradation="noise25", seed=0)], "denoise")
        >>> s = ds[0]; s["task"], s["name"], tuple(s["degraded"].shape)
        (0, 'a', (3, 32, 32))
        >>> from perceive_ir.data.draws import ReadKey
        >>> train = PairedImageDataset(ds.items, "denoise", crop=16, seed=0, positive=True)
        >>> a, b = train[ReadKey(0, epoch=0, position=0)], train[ReadKey(0, epoch=0, position=1)]
        >>> bool(torch.equal(a["degraded"], b["degraded"])), tuple(a["degraded_positive"].shape)
        (False, (3, 16, 16))
    """

    #: Reads accept :class:`~perceive_ir.data.draws.ReadKey` keys (fresh draws per repeat).
    reads_keys = True

    def __init__(
        self,
        items: Sequence[PairItem],
        task: str | int,
        *,
        crop: int | tuple[int, int] | None = None,
        hflip: bool = False,
        vflip: bool = False,
        seed: int | None = None,
        positive: bool = False,
        check_files: bool = True,
    ) -> None:
        self.items = list(items)
        if not self.items:
            raise InvalidValueError("`items` is empty: the dataset has no samples.")
        self.task_id = _task_id(task)
        self.task = task if isinstance(task, str) else task_name(task)
        self.augment = PairedAugment(crop, hflip=hflip, vflip=vflip)
        self.seed = seed
        self.positive = bool(positive)
        self.epoch = 0
        if check_files:
            self._check_files()

    def _check_files(self) -> None:
        missing = []
        for it in self.items:
            for p in (it.clean, it.degraded):
                if p is not None and not Path(p).is_file():
                    missing.append(str(p))
        if missing:
            more = f" ... and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise MissingFileError(f"{len(missing)} image file(s) missing: {missing[:10]}{more}")

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of plain index reads (only matters with ``seed``; keyed reads carry their epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | ReadKey) -> dict[str, Any]:
        index = key.index if isinstance(key, ReadKey) else key
        if not 0 <= index < len(self.items):
            raise IndexError(f"index {index} out of range for a dataset of {len(self.items)}.")
        it = self.items[index]
        gen = read_generator(self.seed, index, self.epoch, key if isinstance(key, ReadKey) else None)
        clean = read_image(it.clean)
        if it.degraded is not None:
            degraded = read_image(it.degraded)
            if degraded.shape != clean.shape:
                raise InvalidValueError(
                    f"Pair {it.name!r}: degraded {it.degraded} is {tuple(degraded.shape[1:])} but clean "
                    f"{it.clean} is {tuple(clean.shape[1:])}."
                )
            degraded, clean = self.augment.cover([degraded, clean])
        else:
            assert it.degradation is not None
            (clean,) = self.augment.cover([clean])  # the authors upscale the clean image, then add the noise
            synth_gen = gen if it.seed is None else torch.Generator().manual_seed(it.seed)
            degraded = get_degradation(it.degradation)(clean, generator=synth_gen)
        anchor, clean_crop = self.augment([degraded, clean], gen)
        sample = {"degraded": anchor, "clean": clean_crop, "task": self.task_id, "name": it.name}
        if self.positive:
            (sample[POSITIVE_KEY],) = self.augment([degraded], gen)
        return sample

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(task={self.task!r}, n={len(self)}, augment={self.augment!r}, seed={self.seed}"
                f"{', positive=True' if self.positive else ''})")


def match_pairs(
    degraded_files: Sequence[Path],
    clean_files: Sequence[Path],
    *,
    to_clean_name: Callable[[str], str] | None = None,
    clean_key: Callable[[str], str] | None = None,
) -> list[tuple[str, Path, Path]]:
    """Pair files by name: ``to_clean_name(degraded stem) == clean_key(clean stem)``.

    Both default to the file stem, so ``x.jpg`` pairs with ``x.png``. Several degraded
    files may share one clean file (e.g. RESIDE's many hazy versions of a scene).

    Returns:
        ``(name, degraded, clean)`` triples, sorted by name (the degraded file's stem).

    Raises:
        ValueError: a degraded file has no clean counterpart, a clean file has no degraded
            one, or two clean files share a key. The message lists the files.

    Example:
        >>> from pathlib import Path
        >>> match_pairs([Path("d/1.png")], [Path("c/1.png")])
        [('1', PosixPath('d/1.png'), PosixPath('c/1.png'))]
    """
    to_clean = to_clean_name or (lambda s: s)
    key_of = clean_key or (lambda s: s)
    clean_by_key: dict[str, Path] = {}
    for c in clean_files:
        k = key_of(c.stem)
        if k in clean_by_key:
            raise InvalidValueError(f"Two clean files share the name {k!r}: {clean_by_key[k]} and {c}.")
        clean_by_key[k] = c
    names: dict[str, Path] = {}
    pairs, lonely_degraded, used = [], [], set()
    for d in degraded_files:
        if d.stem in names:
            raise InvalidValueError(f"Two degraded files share the name {d.stem!r}: {names[d.stem]} and {d}.")
        names[d.stem] = d
        k = to_clean(d.stem)
        if k in clean_by_key:
            pairs.append((d.stem, d, clean_by_key[k]))
            used.add(k)
        else:
            lonely_degraded.append(str(d))
    lonely_clean = [str(p) for k, p in clean_by_key.items() if k not in used]
    if lonely_degraded or lonely_clean:
        def show(xs: list[str]) -> str:
            return f"{xs[:20]}{f' ... and {len(xs) - 20} more' if len(xs) > 20 else ''}"

        raise InvalidValueError(
            "Unmatched files: "
            f"{len(lonely_degraded)} degraded without a clean counterpart {show(lonely_degraded)}; "
            f"{len(lonely_clean)} clean without a degraded counterpart {show(lonely_clean)}."
        )
    return sorted(pairs)


class PairedFolderDataset(PairedImageDataset):
    """Pairs from two folders whose files have matching names (extensions may differ).

    Layout::

        degraded_dir/0001.png   clean_dir/0001.png
        degraded_dir/0002.jpg   clean_dir/0002.png

    Args:
        degraded_dir: Folder of degraded images.
        clean_dir: Folder of clean images.
        task: Task name or integer id (see :class:`PairedImageDataset`).
        to_clean_name: Map a degraded file stem to its clean stem (default: identity).
        **kwargs: ``crop``, ``hflip``, ``vflip``, ``seed``, ``positive`` of :class:`PairedImageDataset`.

    Raises:
        FileNotFoundError: a folder does not exist.
        ValueError: a folder holds no images, or files do not match (all listed).

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data.io import save_png
        >>> root = Path(tempfile.mkdtemp())
        >>> for sub in ("lq", "gt"): save_png(torch.rand(3, 16, 16), root / sub / "a.png")
        >>> ds = PairedFolderDataset(root / "lq", root / "gt", task="derain")
        >>> len(ds), ds[0]["task"]
        (1, 1)
    """

    def __init__(
        self,
        degraded_dir: str | os.PathLike[str],
        clean_dir: str | os.PathLike[str],
        task: str | int,
        *,
        to_clean_name: Callable[[str], str] | None = None,
        **kwargs: Any,
    ) -> None:
        degraded = list_images(degraded_dir)
        clean = list_images(clean_dir)
        for folder, files in ((degraded_dir, degraded), (clean_dir, clean)):
            if not files:
                raise InvalidValueError(f"No images found in {folder} (extensions: png, jpg, jpeg, bmp, tif, webp).")
        pairs = match_pairs(degraded, clean, to_clean_name=to_clean_name)
        items = [PairItem(name, clean=c, degraded=d) for name, d, c in pairs]
        super().__init__(items, task, **kwargs)
