"""The scenes of a stage-1 triplet build: their cross-fitting folds and their noise levels.

A *scene* is one image the triplet build turns into a (low, medium, high) triplet. As in the
authors' stage 1 (``stage1_data.py`` of github.com/House-yuyu/Perceive-IR at c7f79d47):

* its **fold key** is ``f"{task}|{path}"``, ``path`` being the degraded file, or the clean file
  when the degraded image is synthesised (denoising);
* its **fold** is the first 8 bytes of the SHA-1 of the key, read big-endian, modulo 2
  (:func:`scene_fold`), so a scene's fold depends only on its task and path;
* each clean image of a synthetic-noise denoising set is **one** scene with **one** σ, cycling
  15, 25, 50 over the images in sorted path order (``denoise_sigmas="cycle"``), rather than
  three scenes, one per σ (``"all"``);
* its synthetic noisy image is ``⌊clamp(255·clean + σ·n, 0, 255)⌋ / 255`` with ``n`` standard
  normal (:func:`authors_noisy`): an 8-bit image, truncated, as the authors' ``.byte()`` makes
  it; rendering draws ``n`` from a generator seeded by the key (:func:`render_noise_seed`), so
  the low image of a denoising triplet is the authors' one, bit for bit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import torch
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset

from ..errors import InvalidValueError
from .degradations import GaussianNoise, get_degradation
from .io import read_image
from .paired import PairedImageDataset
from .tasks import task_name

__all__ = [
    "AUTHORS_NOISE_SIGMAS",
    "DenoiseSigmas",
    "Scene",
    "authors_noisy",
    "fold_key",
    "read_scene",
    "render_noise_seed",
    "scene_fold",
    "scene_table",
]

#: The noise levels the authors cycle over the clean denoising images (``data.py`` ``NOISE_SIGMAS``).
AUTHORS_NOISE_SIGMAS: tuple[int, int, int] = (15, 25, 50)
DenoiseSigmas = Literal["cycle", "all"]


def fold_key(task: str, path: str) -> str:
    """The string a scene's fold is hashed from: ``f"{task}|{path}"`` (the authors' ``sample_fold``).

    Args:
        task: The task name (``"denoise"``, ``"dehaze"``, ``"derain"``, ``"deblur"``, ``"lowlight"``).
        path: The degraded file's path, or the clean file's for synthesised degradations, as a
            string (the authors' manifests write them relative to their repository, e.g.
            ``data/AiOIR/train/Derain/input/rain-1.png``).

    Example:
        >>> fold_key("derain", "data/AiOIR/train/Derain/input/rain-1.png")
        'derain|data/AiOIR/train/Derain/input/rain-1.png'
    """
    return f"{task}|{path}"


def scene_fold(key: str, folds: int = 2) -> int:
    """The cross-fitting fold of a scene: SHA-1 of ``key``, first 8 bytes big-endian, modulo ``folds``.

    The authors' ``stage1_data.sample_fold``; ``key`` is :func:`fold_key`'s string. Stable
    across processes and machines (unlike Python's salted ``hash``).

    Example:
        >>> scene_fold("derain|rain-1.png") == scene_fold("derain|rain-1.png")
        True
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
        raise InvalidValueError(f"`folds` must be a positive int, got {folds!r}.")
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % folds


def render_noise_seed(key: str) -> int:
    """The seed of the noise of a synthetic scene's rendered low image (the authors': SHA-1 hex[:16] mod 2³¹).

    Example:
        >>> 0 <= render_noise_seed("denoise|data/AiOIR/train/Denoise/gt/1.png") < 2**31
        True
    """
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:16], 16) % (2**31)


def authors_noisy(clean: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """Add Gaussian noise of σ (0..255 scale) to a ``3×H×W`` image as the authors do: 8-bit, truncated.

    ``⌊clamp(255·clean + σ·n, 0, 255)⌋ / 255`` with ``n = torch.randn(clean.shape, generator)``.

    Example:
        >>> import torch
        >>> noisy = authors_noisy(torch.full((3, 4, 4), 0.5), 25, torch.Generator().manual_seed(0))
        >>> bool(((noisy * 255).round() == noisy * 255).all())
        True
    """
    noise = torch.randn(clean.shape, generator=generator)
    return (clean * 255.0 + noise * float(sigma)).clamp(0, 255).to(torch.uint8).float() / 255.0


@dataclass(frozen=True)
class Scene:
    """One scene of a triplet build.

    Attributes:
        index: Its index in the dataset.
        name: Its unique name (the dataset's).
        task: Integer task id.
        key: Fold key (:func:`fold_key`).
        fold: Cross-fitting fold (:func:`scene_fold` of ``key``).
        clean: The clean file, for scenes whose noisy image the build synthesises.
        sigma: Their noise σ (0..255 scale); ``None`` for scenes the dataset renders itself.
    """

    index: int
    name: str
    task: int
    key: str
    fold: int
    clean: Path | None = None
    sigma: float | None = None

    @property
    def task_name(self) -> str:
        """The task's name (``task<id>`` beyond the standard five)."""
        return task_name(self.task)


@dataclass(frozen=True)
class _Source:
    index: int
    name: str
    task: int
    path: str | None  # degraded file, or clean file when synthesised; None: unknown
    clean: Path | None
    sigma: float | None  # Gaussian-noise preset of a synthesised item


def _noise_sigma(preset: str | None) -> float | None:
    if preset is None:
        return None
    degradation = get_degradation(preset)
    return degradation.sigma if isinstance(degradation, GaussianNoise) else None


def _sources(dataset: Dataset, offset: int = 0) -> list[_Source]:
    """What the build knows of each sample: name, task and source path, without reading images where it can."""
    if isinstance(dataset, ConcatDataset):
        out: list[_Source] = []
        start = offset
        for part in dataset.datasets:
            out += _sources(part, start)
            start += len(part)  # type: ignore[arg-type]
        return out
    if isinstance(dataset, PairedImageDataset):
        out = []
        for i, item in enumerate(dataset.items):
            sigma = _noise_sigma(item.degradation)
            path = item.degraded if item.degraded is not None else item.clean
            out.append(_Source(offset + i, item.name, dataset.task_id, str(path),
                               item.clean if sigma is not None else None, sigma))
        return out
    out = []
    for i in range(len(dataset)):  # type: ignore[arg-type]
        sample: Any = dataset[i]
        out.append(_Source(offset + i, str(sample["name"]), int(sample["task"]), None, None, None))
    return out


def _cycled(sources: list[_Source], fold_path: Callable[[str], str]) -> list[_Source]:
    """Keep one σ per clean image of the synthetic-noise scenes, cycling 15/25/50 in sorted path order."""
    by_image: dict[tuple[int, str], dict[float, _Source]] = {}
    for s in sources:
        if s.sigma is not None and s.clean is not None:
            by_image.setdefault((s.task, str(s.clean)), {})[s.sigma] = s
    order = sorted(by_image, key=lambda k: (k[0], PurePosixPath(fold_path(k[1])).parts))
    keep: set[int] = set()
    for position, image in enumerate(order):
        sigma = AUTHORS_NOISE_SIGMAS[position % len(AUTHORS_NOISE_SIGMAS)]
        if sigma not in by_image[image]:
            raise InvalidValueError(
                f"denoise_sigmas='cycle' gives {image[1]} σ {sigma}, but the dataset has no item of that image "
                f"with noise{sigma} (it has σ {sorted(by_image[image])}): list every image at σ 15, 25 and 50 "
                "(the bsd400_wed file list does), or pass denoise_sigmas='all'."
            )
        keep.add(by_image[image][sigma].index)
    return [s for s in sources if s.sigma is None or s.clean is None or s.index in keep]


def scene_table(
    dataset: Dataset,
    *,
    fold_path: Callable[[str], str] | None = None,
    denoise_sigmas: DenoiseSigmas = "cycle",
) -> list[Scene]:
    """The scenes of ``dataset``, in dataset order, with their fold keys, folds and noise levels.

    Paths are known for :class:`~perceive_ir.data.PairedImageDataset` (and ``FileListDataset``,
    ``PairedFolderDataset``) and a ``ConcatDataset`` of them; for other datasets every sample
    is read once and the key uses the scene's name in place of a path.

    Args:
        dataset: Whole-image samples ``{"degraded", "clean", "task", "name"}``.
        fold_path: Maps the path a dataset item holds to the string hashed into the fold key
            (default: the path as the item holds it). To line up with the authors' released
            medium restorers, give the path as their code wrote it, e.g.
            ``lambda p: "data/AiOIR/" + Path(p).relative_to(my_root).as_posix()``.
        denoise_sigmas: ``"cycle"`` (the authors'): one σ per clean image of a synthetic-noise
            set (items with a Gaussian-noise preset), cycling 15/25/50 in sorted path order;
            ``"all"``: every item is a scene ([ours: three σ per image, as our file lists write]).

    Raises:
        ValueError: duplicate names, a bad ``denoise_sigmas``, or an image lacking the item of its cycled σ.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data import PairItem, PairedImageDataset, save_png
        >>> d = Path(tempfile.mkdtemp())
        >>> items = []
        >>> for n in ("a", "b"):
        ...     save_png(torch.rand(3, 8, 8), d / f"{n}.png")
        ...     items += [PairItem(f"{n}@noise{s}", d / f"{n}.png", degradation=f"noise{s}") for s in (15, 25, 50)]
        >>> [(s.name, s.sigma) for s in scene_table(PairedImageDataset(items, "denoise"))]
        [('a@noise15', 15.0), ('b@noise25', 25.0)]
    """
    if denoise_sigmas not in ("cycle", "all"):
        raise InvalidValueError(f"`denoise_sigmas` must be 'cycle' or 'all', got {denoise_sigmas!r}.")
    to_key_path = fold_path or (lambda p: p)
    sources = _sources(dataset)
    seen: set[str] = set()
    dups = sorted({s.name for s in sources if s.name in seen or seen.add(s.name)})  # type: ignore[func-returns-value]
    if dups:
        raise InvalidValueError(f"Scene names must be unique; duplicated: {dups[:10]}.")
    if denoise_sigmas == "cycle":
        sources = _cycled(sources, to_key_path)
    scenes = []
    for s in sources:
        key = fold_key(task_name(s.task), to_key_path(s.path) if s.path is not None else s.name)
        scenes.append(Scene(s.index, s.name, s.task, key, scene_fold(key), s.clean, s.sigma))
    return scenes


def read_scene(dataset: Dataset, scene: Scene, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """A scene's whole (low, high) images: synthetic noise drawn from ``generator``, else the dataset's sample.

    Args:
        dataset: The dataset :func:`scene_table` listed ``scene`` from.
        scene: The scene.
        generator: Draws the noise of a scene whose noisy image is synthesised (:func:`authors_noisy`).

    Raises:
        ValueError: the dataset's sample at ``scene.index`` is not that scene (the dataset order changed).

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data import PairItem, PairedImageDataset, save_png
        >>> d = Path(tempfile.mkdtemp())
        >>> save_png(torch.rand(3, 8, 8), d / "a.png")
        >>> ds = PairedImageDataset([PairItem("a", d / "a.png", degradation="noise25")], "denoise")
        >>> scene = scene_table(ds, denoise_sigmas="all")[0]
        >>> low, high = read_scene(ds, scene, torch.Generator().manual_seed(0))
        >>> tuple(low.shape), bool(torch.equal(low, high))
        ((3, 8, 8), False)
    """
    if scene.sigma is not None and scene.clean is not None:
        clean = read_image(scene.clean)
        return authors_noisy(clean, scene.sigma, generator), clean
    sample = dataset[scene.index]
    if str(sample["name"]) != scene.name:
        raise InvalidValueError(
            f"dataset[{scene.index}] is named {sample['name']!r}, expected {scene.name!r}: the dataset order changed."
        )
    return sample["degraded"], sample["clean"]
