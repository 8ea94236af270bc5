"""The folder layouts of the standard all-in-one datasets, and scanners that pair their files.

Each :class:`DatasetLayout` says where its data comes from, how its folders look, and how
to turn a root folder into file-list items (paths relative to the root). Run
``python -m perceive_ir.data.filelists --task <name> --root <folder> --out <folder>`` to
write the file lists that :class:`~perceive_ir.data.FileListDataset` reads.

:data:`LAYOUTS` is a registry: register a layout of your own from user code and every
scanner finds it by name::

    LAYOUTS.register("mine", DatasetLayout("mine", "derain", "My rain pairs.", ("train",),
                                           "ROOT/lq/*.png  ROOT/gt/*.png", scan_mine))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._registry import Registry
from .._seeding import stable_seed
from ..errors import InvalidValueError, MissingFileError
from .io import list_images
from .paired import match_pairs

__all__ = ["DatasetLayout", "LAYOUTS", "get_layout", "NOISE_SIGMAS"]

#: Noise levels of the standard denoising task (σ on the 0..255 scale).
NOISE_SIGMAS: tuple[int, ...] = (15, 25, 50)

Item = dict[str, Any]


@dataclass(frozen=True)
class DatasetLayout:
    """A standard dataset: task, provenance, splits, folder tree, and a scanner.

    Attributes:
        name: The ``--task`` name of the file-list command (e.g. ``"rain100l"``).
        task: The restoration task (``"denoise"``, ``"derain"``, ...).
        description: Where the data comes from, in one line.
        splits: The splits the layout defines.
        tree: The expected folder tree below ``--root`` (documentation).
        scan: ``scan(root, split) -> items`` (dicts with relative paths).
    """

    name: str
    task: str
    description: str
    splits: tuple[str, ...]
    tree: str
    scan: Callable[[Path, str], list[Item]]


def _sub(root: Path, *parts: str) -> Path:
    folder = root.joinpath(*parts)
    if not folder.is_dir():
        raise MissingFileError(f"Expected folder {folder} (see the layout in docs/data.md).")
    files = list_images(folder)
    if not files:
        raise InvalidValueError(f"No images found in {folder}.")
    return folder


def _first_existing(root: Path, candidates: tuple[str, ...]) -> Path:
    for c in candidates:
        if (root / c).is_dir():
            return _sub(root, c)
    raise MissingFileError(f"Expected one of the folders {[str(root / c) for c in candidates]}.")


def _rel(p: Path, root: Path) -> str:
    return p.relative_to(root).as_posix()


def _paired(root: Path, deg: Path, clean: Path, to_clean: Callable[[str], str] | None = None,
            clean_key: Callable[[str], str] | None = None, prefix: str = "") -> list[Item]:
    pairs = match_pairs(list_images(deg), list_images(clean), to_clean_name=to_clean, clean_key=clean_key)
    return [{"name": prefix + n, "degraded": _rel(d, root), "clean": _rel(c, root)} for n, d, c in pairs]


def _scan_bsd400_wed(root: Path, split: str) -> list[Item]:
    items = []
    for sub in ("BSD400", "WED"):
        for f in list_images(_sub(root, sub)):
            for sigma in NOISE_SIGMAS:
                items.append({"name": f"{sub}/{f.stem}@noise{sigma}", "clean": _rel(f, root),
                              "degradation": f"noise{sigma}", "seed": None})
    return items


def _scan_cbsd68(root: Path, split: str) -> list[Item]:
    files = list_images(_sub(root))
    return [{"name": f"{f.stem}@noise{s}", "clean": _rel(f, root), "degradation": f"noise{s}",
             "seed": stable_seed("cbsd68", f.stem, s)} for f in files for s in NOISE_SIGMAS]


_RAIN_PREFIX = re.compile(r"^(no)?rain[-_]?", re.IGNORECASE)


def _scan_rain100l(root: Path, split: str) -> list[Item]:
    strip = lambda s: _RAIN_PREFIX.sub("", s)  # noqa: E731  rain-001 / norain-001 -> 001
    return _paired(root, _sub(root, split, "rainy"), _sub(root, split, "norain"), strip, strip)


def _hazy_to_clean(stem: str) -> str:
    return stem.split("_")[0]  # 0001_0.8_0.2 -> 0001


def _scan_ots(root: Path, split: str) -> list[Item]:
    return _paired(root, _sub(root, "hazy"), _first_existing(root, ("clear", "gt")), _hazy_to_clean)


def _scan_sots(root: Path, split: str) -> list[Item]:
    return _paired(root, _sub(root, "hazy"), _first_existing(root, ("gt", "clear")), _hazy_to_clean)


def _scan_gopro(root: Path, split: str) -> list[Item]:
    base = root / split
    if not base.is_dir():
        raise MissingFileError(f"Expected folder {base} (see the layout in docs/data.md).")
    seqs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not seqs:
        raise InvalidValueError(f"No sequence folders found in {base}.")
    items: list[Item] = []
    for seq in seqs:
        items += _paired(root, _sub(seq, "blur"), _sub(seq, "sharp"), prefix=f"{seq.name}/")
    return items


def _scan_lol(root: Path, split: str) -> list[Item]:
    folder = {"train": "our485", "test": "eval15"}[split]
    return _paired(root, _sub(root, folder, "low"), _sub(root, folder, "high"))


#: The standard layouts by ``--task`` name; ``LAYOUTS.register(name, layout)`` adds one.
LAYOUTS: Registry[DatasetLayout] = Registry("dataset layout", {
    layout.name: layout
    for layout in (
        DatasetLayout(
            "bsd400_wed", "denoise",
            "BSD400 (Berkeley Segmentation Dataset, 400 images) + WED (Waterloo Exploration Database, "
            "4,744 images): clean training photos; noise σ 15/25/50 is added on the fly.",
            ("train",), "ROOT/BSD400/*.jpg\nROOT/WED/*.bmp", _scan_bsd400_wed),
        DatasetLayout(
            "cbsd68", "denoise",
            "CBSD68: the 68 colour test images of the Berkeley Segmentation Dataset; noise σ 15/25/50 "
            "is synthesised with a fixed seed per image and σ, so the test set is reproducible.",
            ("test",), "ROOT/*.png   (the clean colour images, e.g. CBSD68/original_png)", _scan_cbsd68),
        DatasetLayout(
            "rain100l", "derain",
            "Rain100L (Yang et al., CVPR 2017, JORDER): synthetic light rain, 200 training and 100 test pairs.",
            ("train", "test"), "ROOT/{train,test}/rainy/rain-001.png\nROOT/{train,test}/norain/norain-001.png",
            _scan_rain100l),
        DatasetLayout(
            "reside_ots", "dehaze",
            "RESIDE-β OTS (Li et al., TIP 2019): outdoor training set, several synthetic hazy versions "
            "(airlight, β in the name) of each clear image.",
            ("train",), "ROOT/hazy/0001_0.8_0.2.jpg\nROOT/clear/0001.jpg   (or ROOT/gt/)", _scan_ots),
        DatasetLayout(
            "sots_outdoor", "dehaze",
            "SOTS-outdoor (RESIDE Synthetic Objective Testing Set, outdoor part): 500 hazy/clear test pairs.",
            ("test",), "ROOT/hazy/0001_0.8_0.2.jpg\nROOT/gt/0001.png   (or ROOT/clear/)", _scan_sots),
        DatasetLayout(
            "gopro", "deblur",
            "GoPro (Nah et al., CVPR 2017, GOPRO_Large): real motion blur from averaged high-speed video "
            "frames, 2,103 training and 1,111 test pairs in sequence folders.",
            ("train", "test"),
            "ROOT/{train,test}/<SEQUENCE>/blur/000047.png\nROOT/{train,test}/<SEQUENCE>/sharp/000047.png",
            _scan_gopro),
        DatasetLayout(
            "lol", "lowlight",
            "LOL-v1 (Wei et al., BMVC 2018, RetinexNet): 485 training and 15 test low/normal-light pairs.",
            ("train", "test"), "ROOT/our485/low/1.png   ROOT/our485/high/1.png   (train)\n"
            "ROOT/eval15/low/1.png   ROOT/eval15/high/1.png   (test)", _scan_lol),
    )
}, how_to_add="register one with LAYOUTS.register(name, DatasetLayout(...))", error=InvalidValueError)


def get_layout(name: str) -> DatasetLayout:
    """The layout called ``name`` (:data:`LAYOUTS`, user-registered layouts included).

    Raises:
        ValueError: unknown name (the message lists the known ones).

    Example:
        >>> get_layout("rain100l").task
        'derain'
    """
    return LAYOUTS[name]
