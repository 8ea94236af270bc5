"""Quality triplets (low, medium, high) for stage 1 of Perceive-IR, built on disk and resumable.

For every scene: **low** = the degraded image, **high** = the clean image, **medium** = a
partially restored image, made by the strategy named ``strategy``
(:data:`~perceive_ir.training.triplet_strategies.TRIPLET_STRATEGIES`):

* ``"crossfit"`` — **the paper's** (:mod:`~perceive_ir.training.crossfit`): each half of the
  scenes rendered by a restorer trained on the other half, in 512² tiles. The two trained
  restorers stay in ``out_dir``
  (:func:`~perceive_ir.training.crossfit_restorers.load_crossfit_restorers`): stage 2 uses
  them as proxy restorers.
* ``"model"`` — a restorer you supply (e.g. loaded with spandrel), applied as is.
* ``"mild"`` — ``high + strength · (low − high)``: a cheap approximation (a blend towards the
  clean image), **not** the paper's method; useful for smoke tests and quick starts.

Images are 8-bit PNGs under ``out_dir/{low,medium,high}/``, described by
``out_dir/manifest.json`` (:mod:`~perceive_ir.data.triplet_manifest`). Each file and the
manifest are written atomically; re-running the same build skips scenes already complete
(listed in the manifest, all three files present) and reuses trained cross-fit models, so an
interrupted build resumes where it stopped.

The options of :func:`build_triplets` (their defaults are the authors' stage 1):

* ``dataset``: Whole-image samples ``{"degraded", "clean", "task", "name"}`` (e.g. a
  :class:`~perceive_ir.data.FileListDataset` without ``crop``, or a ``ConcatDataset`` of them),
  names unique. Items synthesised with a Gaussian-noise preset (``noise15``/``25``/``50``) are
  denoising scenes whose noise the build draws itself.
* ``out_dir``: Output folder (created). Re-running resumes an interrupted build.
* ``strategy``: ``"crossfit"`` (the paper's), ``"model"`` or ``"mild"`` (cheap approximation), or a
  strategy registered in :data:`~perceive_ir.training.triplet_strategies.TRIPLET_STRATEGIES`.
* ``model``: The restorer for ``"model"``: an ``nn.Module`` (put in eval mode) or callable mapping
  ``B×3×H×W`` to the same shape.
* ``restorer_factory``: The cross-fit restorer: a name of
  :data:`~perceive_ir.models.medium_restorers.MEDIUM_RESTORERS` (default ``"restormer-medium"``, the
  authors' ``RestormerMedium``; ``"restormer-small"`` or ``"tiny"`` for quick CPU runs) or a factory
  building a fresh ``nn.Module`` for each half.
* ``heldout_restorers``: Trained restorers instead of training: ``heldout_restorers[k]`` was trained
  without fold ``k`` and renders it (the authors' ``holdout_0`` and ``holdout_1``
  ``medium_020000.pth``, loaded with :func:`~perceive_ir.models.official.load_official`; their folds
  are ours when the fold keys hold their paths, see ``fold_path``). ``restorer_factory`` must
  rebuild them (the default does for the authors'): they are saved as the build's checkpoints.
* ``steps``: Cross-fit training steps per half (the authors' 20K).
* ``crop``: Training crop side (the authors' 128); smaller images are upscaled bicubically.
* ``batch_size``: Training batch (the authors' 4).
* ``lr``: AdamW learning rate at the start of the cosine schedule (the authors' 2e-4).
* ``min_lr``: Learning rate at the end of the schedule (the authors' 1e-6; ``min_lr=lr`` holds it
  constant).
* ``weight_decay``: AdamW weight decay (the authors': PyTorch's default 0.01).
* ``task_resampling``: Times each scene of a task is listed per training epoch, by task name (the
  authors': denoise 3, dehaze 1, derain 120, deblur 50, lowlight 40; a task not listed: once);
  ``None``: every scene once.
* ``precision``: ``"auto"`` (the authors': bf16 autocast on a CUDA device that supports it, fp32
  elsewhere), ``"bf16"`` or ``"fp32"``, for the cross-fit training and rendering.
* ``denoise_sigmas``: ``"cycle"`` (the authors'): one σ per clean denoising image, cycling 15/25/50
  in sorted path order; ``"all"``: one scene per listed σ ([ours]).
* ``fold_path``: Maps an item's path to the path string of its fold key ``f"{task}|{path}"``
  (default: as the item holds it). See :func:`~perceive_ir.data.stage1_scenes.scene_table` for
  lining up with the authors' released medium restorers.
* ``mild_strength``: For ``"mild"``: medium = high + strength · (low − high), in ``(0, 1)``.
* ``seed``: Seed of the cross-fit training (the global RNG is left untouched).
* ``tile``: Tile side of the rendering (the authors' 512).
* ``overlap``: Tile overlap (the authors' 32).
* ``tile_blend``: ``"uniform"`` (the authors': tiles padded one by one, overlaps averaged) or
  ``"cosine"`` ([ours]: :func:`~perceive_ir.inference.tiling.tiled_apply`'s raised-cosine blend, no
  seams).
* ``multiple``: Pad each tile to a multiple of this (for networks that downsample); default the
  named restorer's (8 for the Restormers), else 1.
* ``device``: Device for training and rendering.
* ``progress``: Show tqdm progress bars.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._seeding import stable_seed
from ..data.io import save_png
from ..data.stage1_scenes import DenoiseSigmas, Scene, read_scene, render_noise_seed, scene_table
from ..data.tasks import task_name
from ..data.triplet_manifest import MANIFEST_NAME, TIERS, load_manifest, new_manifest, tier_paths, write_manifest
from ..errors import InvalidValueError
from ..models.medium_restorers import DEFAULT_MEDIUM_RESTORER
from .medium_training import AUTHORS_TASK_RESAMPLING, Precision
from .triplet_build import TileBlend, TripletBuild, TripletRenderer, check_build
from .triplet_strategies import TRIPLET_STRATEGIES

__all__ = ["TileBlend", "TripletStrategy", "build_triplets"]

#: The built-in strategies' names (``TRIPLET_STRATEGIES`` may hold more).
TripletStrategy = Literal["crossfit", "model", "mild"]


def build_triplets(
    dataset: Dataset, out_dir: str | os.PathLike[str], *, strategy: TripletStrategy | str = "crossfit",
    model: Callable[[Tensor], Tensor] | None = None,
    restorer_factory: str | Callable[[], nn.Module] = DEFAULT_MEDIUM_RESTORER,
    heldout_restorers: Sequence[nn.Module] | None = None,
    steps: int = 20_000, crop: int = 128, batch_size: int = 4, lr: float = 2e-4, min_lr: float = 1e-6,
    weight_decay: float = 0.01, task_resampling: Mapping[str, int] | None = AUTHORS_TASK_RESAMPLING,
    precision: Precision = "auto", denoise_sigmas: DenoiseSigmas = "cycle",
    fold_path: Callable[[str], str] | None = None, mild_strength: float = 0.5, seed: int = 0,
    tile: int = 512, overlap: int = 32, tile_blend: TileBlend = "uniform", multiple: int | None = None,
    device: str | torch.device = "cpu", progress: bool = True,
) -> Path:
    """Render (low, medium, high) for every scene of ``dataset`` into ``out_dir``.

    The defaults are the authors' stage 1 (``perceiveIR_stage1.yaml``, ``train_stage1_medium.py``,
    ``render_stage1_medium.py``, README ``--total-iters 20000``); the module docstring details each option.

    Args:
        dataset: Whole-image samples, names unique (e.g. a ``FileListDataset`` without ``crop``).
        out_dir: Output folder (created); re-running resumes an interrupted build.
        strategy: A name of ``TRIPLET_STRATEGIES`` (``"crossfit"``: the paper's).
        model: The restorer of ``"model"``.
        restorer_factory: The cross-fit restorer: a name of ``MEDIUM_RESTORERS`` or a factory.
        heldout_restorers: Trained restorers instead of training, ``[k]`` holding out fold ``k``.
        steps: Cross-fit training steps per half (the authors' 20K).
        crop: Training crop side (the authors' 128).
        batch_size: Training batch (the authors' 4).
        lr: AdamW learning rate at the start of the cosine schedule (the authors' 2e-4).
        min_lr: Learning rate at its end (the authors' 1e-6).
        weight_decay: AdamW weight decay (the authors' 0.01).
        task_resampling: Repeats per training epoch by task name (the authors' 3/1/120/50/40).
        precision: ``"auto"`` (the authors': bf16 on CUDA), ``"bf16"`` or ``"fp32"``.
        denoise_sigmas: ``"cycle"`` (the authors') or ``"all"`` ([ours]).
        fold_path: Maps an item's path to the path of its fold key.
        mild_strength: The blend of ``"mild"``, in ``(0, 1)``.
        seed: Seed of the training and of each scene's draws.
        tile: Tile side of the rendering (the authors' 512).
        overlap: Tile overlap (the authors' 32).
        tile_blend: ``"uniform"`` (the authors') or ``"cosine"`` ([ours]).
        multiple: Pad each tile to a multiple of this (default: the named restorer's, else 1).
        device: Device for training and rendering.
        progress: Show tqdm progress bars.

    Returns:
        The manifest path.

    Raises:
        ValueError: bad arguments, duplicate scene names, an existing manifest built with
            different settings or fold keys, or an empty cross-fit half.

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data import PairedFolderDataset
        >>> from perceive_ir.data.io import save_png
        >>> root = Path(tempfile.mkdtemp())
        >>> for n in ("a", "b"):
        ...     save_png(torch.rand(3, 16, 16), root / "lq" / f"{n}.png")
        ...     save_png(torch.rand(3, 16, 16), root / "gt" / f"{n}.png")
        >>> ds = PairedFolderDataset(root / "lq", root / "gt", task="derain")
        >>> m = build_triplets(ds, root / "triplets", strategy="mild", progress=False)
        >>> len(load_manifest(m)["scenes"])
        2
    """
    factory = TRIPLET_STRATEGIES[strategy]
    build = check_build(
        dataset, out_dir, strategy=strategy, model=model, restorer_factory=restorer_factory,
        heldout_restorers=heldout_restorers, steps=steps, crop=crop, batch_size=batch_size, lr=lr, min_lr=min_lr,
        weight_decay=weight_decay, task_resampling=task_resampling, precision=precision,
        denoise_sigmas=denoise_sigmas, fold_path=fold_path, mild_strength=mild_strength, seed=seed, tile=tile,
        overlap=overlap, tile_blend=tile_blend, multiple=multiple, device=device, progress=progress,
    )
    renderer = factory(build)
    manifest = _Manifest.open(build, renderer.settings())
    scenes = scene_table(dataset, fold_path=fold_path, denoise_sigmas=denoise_sigmas)
    manifest.check_fold_keys(scenes)
    todo = [s for s in scenes if not manifest.complete(s.name)]
    renderer.start(scenes, todo)
    _render_scenes(build, renderer, manifest, todo)
    return manifest.path


class _Manifest:
    """The manifest of a build in progress: its document and its scenes by name, rewritten after each scene."""

    def __init__(self, path: Path, doc: dict[str, Any]) -> None:
        self.path = path
        self.doc = doc
        self.entries: dict[str, dict[str, Any]] = {e["name"]: e for e in doc["scenes"]}

    @classmethod
    def open(cls, build: TripletBuild, strategy_settings: Mapping[str, Any]) -> _Manifest:
        """Create the build's folders and manifest, or reopen one made with the same settings."""
        out = build.out
        for tier in TIERS:
            (out / tier).mkdir(parents=True, exist_ok=True)
        for folder in (out, *(out / t for t in TIERS)):  # temporaries a killed build left
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        path = out / MANIFEST_NAME
        settings: dict[str, Any] = {"strategy": build.strategy, "seed": build.seed,
                                    "denoise_sigmas": build.denoise_sigmas, "fold_hash": "sha1-be",
                                    **strategy_settings}
        doc = load_manifest(path)
        if doc is None:  # written up front, so cross-fit checkpoints on disk always belong to these settings
            doc = new_manifest(settings)
            write_manifest(path, doc)
        elif doc["settings"] != settings:
            raise InvalidValueError(
                f"{path} was built with settings {doc['settings']}, now {settings}: "
                "use another `out_dir` or delete the old one."
            )
        return cls(path, doc)

    def check_fold_keys(self, scenes: Iterable[Scene]) -> None:
        """Refuse scenes whose fold key changed since the build began."""
        moved = [s.name for s in scenes if s.name in self.entries and self.entries[s.name].get("fold_key") != s.key]
        if moved:
            raise InvalidValueError(
                f"{self.path} holds scenes with other fold keys ({moved[:3]}...): the paths or `fold_path` "
                "changed since the build began, so the trained restorers may have seen the scenes they render. "
                "Use another `out_dir`."
            )

    def complete(self, name: str) -> bool:
        """Whether the scene ``name`` is listed and its three images exist."""
        entry = self.entries.get(name)
        return entry is not None and all((self.path.parent / entry[t]).is_file() for t in TIERS)

    def add(self, entry: dict[str, Any]) -> None:
        """List (or replace) a finished scene and rewrite the manifest."""
        self.entries[entry["name"]] = entry
        self.doc["scenes"] = list(self.entries.values())
        write_manifest(self.path, self.doc)


def _render_scenes(build: TripletBuild, renderer: TripletRenderer, manifest: _Manifest, todo: Sequence[Scene]) -> None:
    """Render and write every scene of ``todo``, each under its own seed of the global RNG."""
    loop: Iterable[Scene] = todo
    if build.progress:
        from tqdm.auto import tqdm

        loop = tqdm(todo, desc=f"triplets ({build.strategy})")
    # datasets that synthesise on the fly draw from the global RNG: seed it per scene inside a
    # fork, so a scene's images do not depend on interruptions and the caller's RNG is untouched
    with torch.random.fork_rng(devices=[build.device] if build.device.type == "cuda" else []):
        for scene in loop:
            torch.manual_seed(stable_seed(build.seed, "scene", scene.name))
            _render_scene(build, renderer, manifest, scene)


def _render_scene(build: TripletBuild, renderer: TripletRenderer, manifest: _Manifest, scene: Scene) -> None:
    """Write one scene's three images, then its manifest entry."""
    noise = torch.Generator().manual_seed(render_noise_seed(scene.key))
    low, high = read_scene(build.dataset, scene, noise)
    medium = renderer.medium(scene, low, high)
    paths = tier_paths(scene.name)
    for tier, image in (("low", low), ("high", high), ("medium", medium.clamp(0, 1))):
        save_png(image, build.out / paths[tier])
    entry: dict[str, Any] = {"name": scene.name, "task": scene.task, "task_name": task_name(scene.task),
                             **paths, "strategy": build.strategy, "seed": build.seed, "fold_key": scene.key}
    if scene.sigma is not None:
        entry["sigma"] = scene.sigma
    manifest.add({**entry, **renderer.entry(scene)})
