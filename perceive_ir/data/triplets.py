"""Quality triplets (low, medium, high) for stage 1 of Perceive-IR, built on disk and resumable.

For every scene: **low** = the degraded image, **high** = the clean image, **medium** = a
partially restored image. Three ways to get medium:

* ``"crossfit"`` — **the paper's**, as the authors' ``train_stage1_medium.py`` and
  ``render_stage1_medium.py`` do it: scenes are split in two by the SHA-1 of
  ``f"{task}|{path}"`` (:func:`~perceive_ir.data.stage1_scenes.scene_fold`); a restorer (by
  default the authors' ``RestormerMedium``, :class:`~perceive_ir.models.official.MediumRestorer`)
  is trained with L1 on each half (:mod:`~perceive_ir.data.medium_training`: 20K steps, AdamW
  wd 0.01, cosine 2e-4 → 1e-6, batch 4, 128² crops with h+v flips, task resampling, bf16) and
  renders the *other* half in 512² tiles, so every medium image comes from a model that never
  saw that scene. The two trained restorers stay in ``out_dir`` (:func:`load_crossfit_restorers`):
  stage 2 uses them as proxy restorers.
* ``"model"`` — a restorer you supply (e.g. loaded with spandrel), applied as is.
* ``"mild"`` — ``high + strength · (low − high)``: a cheap approximation (a blend towards the
  clean image), **not** the paper's method; useful for smoke tests and quick starts.

Images are 8-bit PNGs under ``out_dir/{low,medium,high}/``, described by
``out_dir/manifest.json``. Each file and the manifest are written atomically; re-running the
same build skips scenes already complete (listed in the manifest, all three files present)
and reuses trained cross-fit models, so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._atomic import atomic_write_bytes
from .._files import read_json_config, safe_torch_load
from .._seeding import stable_seed
from .._validation import check_int
from ..errors import InvalidTypeError, InvalidValueError, MissingFileError
from ..inference.authors_paths import restore_per_tile
from ..inference.tiling import tiled_apply
from ..perceive.losses.proxies import Proxy
from .io import read_image, save_png
from .medium_training import (
    AUTHORS_TASK_RESAMPLING,
    Precision,
    autocast_context,
    check_task_resampling,
    train_medium_restorer,
    uses_bf16,
)
from .restorer import DEFAULT_MEDIUM_RESTORER, PaddedRestorer, medium_restorer
from .stage1_scenes import DenoiseSigmas, Scene, authors_noisy, render_noise_seed, scene_fold, scene_table
from .tasks import task_name
from .transforms import PairedAugment

__all__ = [
    "MANIFEST_NAME",
    "TileBlend",
    "TripletStrategy",
    "build_triplets",
    "crossfit_proxies",
    "load_crossfit_restorers",
    "load_manifest",
    "scene_fold",
]

MANIFEST_NAME = "manifest.json"
_FORMAT = "perceive-ir-triplets"
TripletStrategy = Literal["crossfit", "model", "mild"]
TileBlend = Literal["uniform", "cosine"]
_TIERS = ("low", "medium", "high")


def _file_stem(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scene"
    return f"{safe[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


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
    if doc.get("format") != _FORMAT:
        raise InvalidValueError(f"{path} is not a perceive-ir triplet manifest.")
    return doc


def _clean_temp_files(out: Path) -> None:
    for folder in (out, *(out / t for t in _TIERS)):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _scene_pair(dataset: Dataset, scene: Scene, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """A scene's whole (low, high) images: synthetic noise drawn from ``generator``, else the dataset's sample."""
    if scene.sigma is not None and scene.clean is not None:
        clean = read_image(scene.clean)
        return authors_noisy(clean, scene.sigma, generator), clean
    sample = dataset[scene.index]
    if str(sample["name"]) != scene.name:
        raise InvalidValueError(
            f"dataset[{scene.index}] is named {sample['name']!r}, expected {scene.name!r}: the dataset order changed."
        )
    return sample["degraded"], sample["clean"]


def _train_restorer(
    factory: Callable[[], nn.Module],
    dataset: Dataset,
    scenes: Sequence[Scene],
    **options: Any,
) -> nn.Module:
    """Train ``factory()`` on ``scenes`` (one fold) as the authors train a medium restorer."""
    return train_medium_restorer(
        factory,
        lambda position, generator: _scene_pair(dataset, scenes[position], generator),
        [s.task_name for s in scenes],
        **options,
    )


def _quantize_truncate(image: Tensor) -> Tensor:
    """8-bit values by truncation, as the authors' ``to_pil_image`` writes a float image."""
    return (image.clamp(0, 1).float() * 255).to(torch.uint8).float() / 255.0


def _save_model(model: nn.Module, path: Path) -> None:
    import io

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _fold_checkpoint(out: Path, fold: int) -> Path:
    """Where a cross-fit build keeps the restorer trained on the scenes of ``fold``."""
    return out / f"crossfit_fold{fold}.pt"


def _load_fold(restorer_factory: Callable[[], nn.Module], ckpt: Path) -> nn.Module:
    """A fresh ``restorer_factory()`` network holding the weights a cross-fit build saved at ``ckpt``."""
    net = restorer_factory()
    net.load_state_dict(safe_torch_load(ckpt, "a cross-fit restorer's weights"))
    return net


def _restorer_and_multiple(
    restorer_factory: str | Callable[[], nn.Module],
) -> tuple[Callable[[], nn.Module], int]:
    """The factory and input multiple of a named medium restorer, or of a factory (multiple 1)."""
    if isinstance(restorer_factory, str):
        return medium_restorer(restorer_factory)
    if callable(restorer_factory):
        return restorer_factory, 1
    raise InvalidTypeError(
        f"`restorer_factory` must be a restorer name or a factory, got {type(restorer_factory).__name__}."
    )


def build_triplets(
    dataset: Dataset,
    out_dir: str | os.PathLike[str],
    *,
    strategy: TripletStrategy = "crossfit",
    model: Callable[[Tensor], Tensor] | None = None,
    restorer_factory: str | Callable[[], nn.Module] = DEFAULT_MEDIUM_RESTORER,
    heldout_restorers: Sequence[nn.Module] | None = None,
    steps: int = 20_000,
    crop: int = 128,
    batch_size: int = 4,
    lr: float = 2e-4,
    min_lr: float = 1e-6,
    weight_decay: float = 0.01,
    task_resampling: Mapping[str, int] | None = AUTHORS_TASK_RESAMPLING,
    precision: Precision = "auto",
    denoise_sigmas: DenoiseSigmas = "cycle",
    fold_path: Callable[[str], str] | None = None,
    mild_strength: float = 0.5,
    seed: int = 0,
    tile: int = 512,
    overlap: int = 32,
    tile_blend: TileBlend = "uniform",
    multiple: int | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> Path:
    """Render (low, medium, high) for every scene of ``dataset`` into ``out_dir``.

    The defaults reproduce the authors' stage 1 (``src/configs/perceiveIR_stage1.yaml``,
    ``train_stage1_medium.py``, ``render_stage1_medium.py`` and the README's
    ``--total-iters 20000``; github.com/House-yuyu/Perceive-IR at c7f79d47).

    Args:
        dataset: Whole-image samples ``{"degraded", "clean", "task", "name"}`` (e.g. a
            :class:`~perceive_ir.data.FileListDataset` without ``crop``, or a ``ConcatDataset``
            of them), names unique. Items synthesised with a Gaussian-noise preset
            (``noise15``/``25``/``50``) are denoising scenes whose noise the build draws itself.
        out_dir: Output folder (created). Re-running resumes an interrupted build.
        strategy: ``"crossfit"`` (the paper's), ``"model"`` or ``"mild"`` (cheap approximation).
        model: The restorer for ``"model"``: an ``nn.Module`` (put in eval mode) or callable
            mapping ``B×3×H×W`` to the same shape.
        restorer_factory: The cross-fit restorer: a name of
            :data:`~perceive_ir.data.restorer.MEDIUM_RESTORERS` (default ``"restormer-medium"``,
            the authors' ``RestormerMedium``; ``"restormer-small"`` or ``"tiny"`` for quick CPU
            runs) or a factory building a fresh ``nn.Module`` for each half.
        heldout_restorers: Trained restorers instead of training: ``heldout_restorers[k]`` was
            trained without fold ``k`` and renders it (the authors' ``holdout_0`` and
            ``holdout_1`` ``medium_020000.pth``, loaded with
            :func:`~perceive_ir.models.official.load_official`; their folds are ours when the
            fold keys hold their paths, see ``fold_path``). ``restorer_factory`` must rebuild
            them (the default does for the authors'): they are saved as the build's checkpoints.
        steps: Cross-fit training steps per half (the authors' 20K).
        crop: Training crop side (the authors' 128); smaller images are upscaled bicubically.
        batch_size: Training batch (the authors' 4).
        lr: AdamW learning rate at the start of the cosine schedule (the authors' 2e-4).
        min_lr: Learning rate at the end of the schedule (the authors' 1e-6; ``min_lr=lr``
            holds it constant).
        weight_decay: AdamW weight decay (the authors': PyTorch's default 0.01).
        task_resampling: Times each scene of a task is listed per training epoch, by task name
            (the authors': denoise 3, dehaze 1, derain 120, deblur 50, lowlight 40; a task not
            listed: once); ``None``: every scene once.
        precision: ``"auto"`` (the authors': bf16 autocast on a CUDA device that supports it,
            fp32 elsewhere), ``"bf16"`` or ``"fp32"``, for the cross-fit training and rendering.
        denoise_sigmas: ``"cycle"`` (the authors'): one σ per clean denoising image, cycling
            15/25/50 in sorted path order; ``"all"``: one scene per listed σ ([ours]).
        fold_path: Maps an item's path to the path string of its fold key ``f"{task}|{path}"``
            (default: as the item holds it). See
            :func:`~perceive_ir.data.stage1_scenes.scene_table` for lining up with the
            authors' released medium restorers.
        mild_strength: For ``"mild"``: medium = high + strength · (low − high), in ``(0, 1)``.
        seed: Seed of the cross-fit training (the global RNG is left untouched).
        tile: Tile side of the rendering (the authors' 512).
        overlap: Tile overlap (the authors' 32).
        tile_blend: ``"uniform"`` (the authors': tiles padded one by one, overlaps averaged)
            or ``"cosine"`` ([ours]: :func:`~perceive_ir.inference.tiling.tiled_apply`'s
            raised-cosine blend, no seams).
        multiple: Pad each tile to a multiple of this (for networks that downsample); default
            the named restorer's (8 for the Restormers), else 1.
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
    if strategy not in ("crossfit", "model", "mild"):
        raise InvalidValueError(f"`strategy` must be 'crossfit', 'model' or 'mild', got {strategy!r}.")
    if strategy == "model" and (model is None or not callable(model)):
        raise InvalidValueError("strategy='model' needs `model`: an nn.Module or callable restorer.")
    if strategy == "mild" and not 0.0 < mild_strength < 1.0:
        raise InvalidValueError(f"`mild_strength` must be in (0, 1), got {mild_strength!r}.")
    if tile_blend not in ("uniform", "cosine"):
        raise InvalidValueError(f"`tile_blend` must be 'uniform' or 'cosine', got {tile_blend!r}.")
    for arg, v in (("steps", steps), ("crop", crop), ("batch_size", batch_size), ("tile", tile)):
        check_int(v, arg)
    for arg, x in (("lr", lr), ("min_lr", min_lr), ("weight_decay", weight_decay)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0:
            raise InvalidValueError(f"`{arg}` must be a non-negative number, got {x!r}.")
    resampling = check_task_resampling(task_resampling)
    if heldout_restorers is not None:
        heldout_restorers = list(heldout_restorers)
        if len(heldout_restorers) != 2 or not all(isinstance(m, nn.Module) for m in heldout_restorers):
            raise InvalidValueError(
                "`heldout_restorers` must be two nn.Modules: the one holding out fold 0, then fold 1."
            )
        for k, net in enumerate(heldout_restorers):
            if getattr(net, "heldout_fold", k) not in (None, k):
                raise InvalidValueError(f"`heldout_restorers[{k}]` holds out fold {net.heldout_fold}, not {k}.")
    restorer_name = restorer_factory if isinstance(restorer_factory, str) else None
    restorer_factory, named_multiple = _restorer_and_multiple(restorer_factory)
    multiple = named_multiple if multiple is None else check_int(multiple, "multiple")
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise InvalidValueError("`dataset` is empty.")
    augment = getattr(dataset, "augment", None)
    if isinstance(augment, PairedAugment) and augment.crop is not None:
        raise InvalidValueError(
            "`dataset` crops its samples; triplets are built from whole images: create it without `crop`."
        )
    device = torch.device(device)
    bf16 = uses_bf16(precision, device)
    out = Path(out_dir)
    for t in _TIERS:
        (out / t).mkdir(parents=True, exist_ok=True)
    _clean_temp_files(out)
    manifest_path = out / MANIFEST_NAME

    settings: dict[str, Any] = {"strategy": strategy, "seed": seed, "denoise_sigmas": denoise_sigmas,
                                "fold_hash": "sha1-be"}
    if strategy == "crossfit":
        settings.update(steps=steps, crop=crop, batch_size=batch_size, lr=lr, min_lr=min_lr,
                        weight_decay=weight_decay, task_resampling=resampling,
                        precision="bf16" if bf16 else "fp32", tile_blend=tile_blend,
                        restorer=restorer_name or getattr(restorer_factory, "__name__",
                                                          type(restorer_factory).__name__),
                        pretrained=heldout_restorers is not None)
    elif strategy == "mild":
        settings.update(mild_strength=mild_strength)
    else:
        settings.update(model=type(model).__name__, tile_blend=tile_blend)
    doc = load_manifest(manifest_path)
    if doc is None:
        # written up front, so cross-fit checkpoints on disk always belong to these settings
        doc = {"format": _FORMAT, "version": 2, "settings": settings, "scenes": []}
        atomic_write_bytes(manifest_path, json.dumps(doc, indent=1).encode())
    elif doc["settings"] != settings:
        raise InvalidValueError(
            f"{manifest_path} was built with settings {doc['settings']}, now {settings}: "
            "use another `out_dir` or delete the old one."
        )
    entries: dict[str, dict[str, Any]] = {e["name"]: e for e in doc["scenes"]}

    scenes = scene_table(dataset, fold_path=fold_path, denoise_sigmas=denoise_sigmas)
    moved = [s.name for s in scenes if s.name in entries and entries[s.name].get("fold_key") != s.key]
    if moved:
        raise InvalidValueError(
            f"{manifest_path} holds scenes with other fold keys ({moved[:3]}...): the paths or `fold_path` "
            "changed since the build began, so the trained restorers may have seen the scenes they render. "
            "Use another `out_dir`."
        )

    def complete(name: str) -> bool:
        entry = entries.get(name)
        return entry is not None and all((out / entry[t]).is_file() for t in _TIERS)

    todo = [s for s in scenes if not complete(s.name)]

    renderer: dict[int, Callable[[Tensor], Tensor]] = {}
    if strategy == "crossfit" and todo:
        halves = {f: [s for s in scenes if s.fold == f] for f in (0, 1)}
        if not halves[0] or not halves[1]:
            raise InvalidValueError(
                f"crossfit needs scenes in both halves; the hash split gave {len(halves[0])} and "
                f"{len(halves[1])}. Add scenes or use strategy='mild'/'model'."
            )
    elif strategy == "model":
        if isinstance(model, nn.Module):
            model.eval()
        renderer[0] = renderer[1] = model  # type: ignore[assignment]

    def get_renderer(fold: int) -> Callable[[Tensor], Tensor]:
        # a scene of fold f is rendered by the model trained on the other half
        train_fold = 1 - fold
        if train_fold not in renderer:
            ckpt = _fold_checkpoint(out, train_fold)
            if ckpt.is_file():
                net = _load_fold(restorer_factory, ckpt).to(device).eval()
            elif heldout_restorers is not None:  # trained on `train_fold`, so it holds out the other
                net = heldout_restorers[1 - train_fold].to(device).eval()
                _save_model(net, ckpt)
            else:
                net = _train_restorer(
                    restorer_factory, dataset, halves[train_fold], steps=steps, crop=crop, batch_size=batch_size,
                    lr=lr, min_lr=min_lr, weight_decay=weight_decay, task_resampling=resampling,
                    precision="bf16" if bf16 else "fp32", seed=stable_seed(seed, "crossfit", train_fold),
                    device=device, progress=progress,
                )
                _save_model(net, ckpt)
            renderer[train_fold] = net
        return renderer[train_fold]

    def restore(fn: Callable[[Tensor], Tensor], low: Tensor) -> Tensor:
        image = low.unsqueeze(0).to(device)
        with torch.no_grad(), autocast_context(bf16 and strategy == "crossfit", device):
            if tile_blend == "uniform":
                medium = restore_per_tile(fn, image, tile=tile, overlap=overlap, multiple=multiple, clamp_tiles=False)
            else:
                medium = tiled_apply(fn, image, tile=tile, overlap=overlap, multiple=multiple)
        return _quantize_truncate(medium.squeeze(0).cpu())

    def render_scene(scene: Scene) -> None:
        noise = torch.Generator().manual_seed(render_noise_seed(scene.key))
        low, high = _scene_pair(dataset, scene, noise)
        if strategy == "mild":
            medium = high + mild_strength * (low - high)
        else:
            medium = restore(get_renderer(scene.fold) if strategy == "crossfit" else renderer[0], low)
        stem = _file_stem(scene.name)
        paths = {t: f"{t}/{stem}.png" for t in _TIERS}
        for t, img in (("low", low), ("high", high), ("medium", medium.clamp(0, 1))):
            save_png(img, out / paths[t])
        entry: dict[str, Any] = {"name": scene.name, "task": scene.task, "task_name": task_name(scene.task),
                                 **paths, "strategy": strategy, "seed": seed, "fold_key": scene.key}
        if scene.sigma is not None:
            entry["sigma"] = scene.sigma
        if strategy == "crossfit":
            entry["fold"] = scene.fold
        entries[scene.name] = entry
        doc["scenes"] = list(entries.values())
        atomic_write_bytes(manifest_path, json.dumps(doc, indent=1).encode())

    loop: Sequence[Scene] = todo
    if progress:
        from tqdm.auto import tqdm

        loop = tqdm(todo, desc=f"triplets ({strategy})")
    # datasets that synthesise on the fly draw from the global RNG: seed it per scene inside a
    # fork, so a scene's images do not depend on interruptions and the caller's RNG is untouched
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for scene in loop:
            torch.manual_seed(stable_seed(seed, "scene", scene.name))
            render_scene(scene)
    return manifest_path


def load_crossfit_restorers(
    triplets: str | os.PathLike[str],
    restorer_factory: Callable[[], nn.Module] | None = None,
    multiple: int | None = None,
) -> list[nn.Module]:
    """The two restorers a ``crossfit`` build trained (fold 0's, then fold 1's), frozen, in eval mode.

    Stage 2 uses them as proxy restorers (medium negatives) of the quality-aware loss. Each
    is wrapped in a :class:`~perceive_ir.data.restorer.PaddedRestorer`, so any crop size works.

    Args:
        triplets: The build's ``out_dir`` or its ``manifest.json``.
        restorer_factory: Rebuilds the network for a build made with a custom factory; named
            restorers (:data:`~perceive_ir.data.restorer.MEDIUM_RESTORERS`) rebuild themselves.
        multiple: Input size multiple (default: the named restorer's, else 1).

    Raises:
        FileNotFoundError: no manifest, or a fold's checkpoint is missing.
        ValueError: the build is not a ``crossfit`` one, or it used a custom factory and none is given.

    Example:
        >>> try:
        ...     load_crossfit_restorers("/nonexistent")
        ... except FileNotFoundError as err:
        ...     print(str(err).split(":")[0])
        No triplet manifest at /nonexistent/manifest.json
    """
    path = Path(triplets)
    path = path if path.suffix == ".json" else path / MANIFEST_NAME
    doc = load_manifest(path)
    if doc is None:
        raise MissingFileError(
            f"No triplet manifest at {path}: build the triplets first (build_triplets, strategy='crossfit')."
        )
    settings = doc["settings"]
    if settings.get("strategy") != "crossfit":
        raise InvalidValueError(
            f"{path} was built with strategy={settings.get('strategy')!r}; only 'crossfit' trains restorers."
        )
    name = str(settings.get("restorer"))
    try:  # a named restorer rebuilds itself; a custom one needs its factory
        restorer_factory, named_multiple = _restorer_and_multiple(
            name if restorer_factory is None else restorer_factory
        )
    except ValueError:
        raise InvalidValueError(
            f"{path} was built with the custom restorer {name!r}: pass `restorer_factory` to rebuild it."
        ) from None
    restorers: list[nn.Module] = []
    for fold in (0, 1):
        ckpt = _fold_checkpoint(path.parent, fold)
        if not ckpt.is_file():
            raise MissingFileError(f"{ckpt} is missing: the cross-fit build in {path.parent} did not finish.")
        net = _load_fold(restorer_factory, ckpt)
        padded = PaddedRestorer(net, named_multiple if multiple is None else int(multiple))
        restorers.append(padded.eval().requires_grad_(False))
    return restorers


def crossfit_proxies(restorers: Sequence[nn.Module]) -> list[Proxy]:
    """The cross-fit restorers (:func:`load_crossfit_restorers`) as proxies named ``crossfit<k>``.

    Args:
        restorers: The restorers of a ``crossfit`` build, fold 0's first.

    Example:
        >>> [p.name for p in crossfit_proxies([nn.Identity(), nn.Identity()])]
        ['crossfit0', 'crossfit1']
    """
    return [Proxy(net, name=f"crossfit{k}") for k, net in enumerate(restorers)]
