"""Quality triplets (low, medium, high) for stage 1 of Perceive-IR, built on disk and resumable.

For every scene: **low** = the degraded image, **high** = the clean image, **medium** = a
partially restored image. Three ways to get medium:

* ``"crossfit"`` — **the paper's**: scenes are split in two by a stable hash of their name;
  a restorer (by default the paper's Restormer, 20K steps on 128² crops; a named one of
  :data:`~perceive_ir.data.restorer.MEDIUM_RESTORERS` or any ``nn.Module`` factory) is
  trained with L1 on each half and renders the *other* half, so every medium image comes
  from a model that never saw that scene. The two trained restorers stay in ``out_dir``
  (:func:`load_crossfit_restorers`): stage 2 uses them as proxy restorers.
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._atomic import atomic_write_bytes
from .._files import read_json_config, safe_torch_load
from .._seeding import stable_seed
from .._validation import check_int
from ..inference.tiling import tiled_apply
from ..perceive.losses.proxies import Proxy
from .io import save_png
from .restorer import DEFAULT_MEDIUM_RESTORER, PaddedRestorer, medium_restorer
from .tasks import task_name
from .transforms import PairedAugment

__all__ = [
    "MANIFEST_NAME",
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
_TIERS = ("low", "medium", "high")


def scene_fold(name: str, folds: int = 2) -> int:
    """The cross-fitting fold of a scene: a SHA-256 hash of its name modulo ``folds``.

    Stable across processes and machines (unlike Python's salted ``hash``).

    Example:
        >>> scene_fold("0001") == scene_fold("0001")
        True
    """
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little") % folds


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
        raise ValueError(f"{path} is not a perceive-ir triplet manifest.")
    return doc


def _clean_temp_files(out: Path) -> None:
    for folder in (out, *(out / t for t in _TIERS)):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _train_restorer(
    factory: Callable[[], nn.Module],
    dataset: Dataset,
    indices: list[int],
    *,
    steps: int,
    crop: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device,
    progress: bool,
) -> nn.Module:
    """Train ``factory()`` with L1 on random aligned crops of the scenes ``indices``."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = factory()
        if not isinstance(model, nn.Module):
            raise TypeError(f"`restorer_factory` must return an nn.Module, got {type(model).__name__}.")
        model = model.to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        augment = PairedAugment(crop, hflip=True)
        loop = range(steps)
        if progress:
            from tqdm.auto import tqdm

            loop = tqdm(loop, desc="crossfit: training", leave=False)
        for _ in loop:
            picks = torch.randint(0, len(indices), (batch_size,), generator=gen).tolist()
            lows, highs = [], []
            for p in picks:
                sample = dataset[indices[p]]
                low, high = augment([sample["degraded"], sample["clean"]], gen)
                lows.append(low)
                highs.append(high)
            low_b, high_b = torch.stack(lows).to(device), torch.stack(highs).to(device)
            loss = F.l1_loss(model(low_b), high_b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


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
    raise TypeError(
        f"`restorer_factory` must be a restorer name or a factory, got {type(restorer_factory).__name__}."
    )


def build_triplets(
    dataset: Dataset,
    out_dir: str | os.PathLike[str],
    *,
    strategy: TripletStrategy = "crossfit",
    model: Callable[[Tensor], Tensor] | None = None,
    restorer_factory: str | Callable[[], nn.Module] = DEFAULT_MEDIUM_RESTORER,
    steps: int = 20_000,
    crop: int = 128,
    batch_size: int = 4,
    lr: float = 2e-4,
    mild_strength: float = 0.5,
    seed: int = 0,
    tile: int = 512,
    overlap: int = 32,
    multiple: int | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> Path:
    """Render (low, medium, high) for every scene of ``dataset`` into ``out_dir``.

    Args:
        dataset: Whole-image samples ``{"degraded", "clean", "task", "name"}`` (e.g. a
            :class:`~perceive_ir.data.PairedFolderDataset` without ``crop``), names unique.
            Scene names come from ``dataset.items`` when it has them, else from reading
            every sample once.
        out_dir: Output folder (created). Re-running resumes an interrupted build.
        strategy: ``"crossfit"`` (the paper's), ``"model"`` or ``"mild"`` (cheap approximation).
        model: The restorer for ``"model"``: an ``nn.Module`` (put in eval mode) or callable
            mapping ``B×3×H×W`` to the same shape.
        restorer_factory: The cross-fit restorer: a name of
            :data:`~perceive_ir.data.restorer.MEDIUM_RESTORERS` (default ``"restormer"``, the
            paper's; ``"restormer-small"`` or ``"tiny"`` for quick CPU runs) or a factory
            building a fresh ``nn.Module`` for each half.
        steps: Cross-fit training steps per half (the paper's 20K).
        crop: Cross-fit training crop size (scenes must be at least this large; the authors' 128).
        batch_size: Cross-fit batch size (the authors' 4 per GPU).
        lr: Cross-fit Adam learning rate (the authors' 2e-4, held constant here; they decay it
            by cosine to 1e-6).
        mild_strength: For ``"mild"``: medium = high + strength · (low − high), in ``(0, 1)``.
        seed: Seed of the cross-fit training (the global RNG is left untouched).
        tile: Tile size of the tiled rendering (:func:`perceive_ir.inference.tiling.tiled_apply`).
        overlap: Tile overlap.
        multiple: Pad each tile to a multiple of this (for networks that downsample); default
            the named restorer's (8 for Restormer), else 1.
        device: Device for training and rendering.
        progress: Show tqdm progress bars.

    Returns:
        The manifest path.

    Raises:
        ValueError: bad arguments, duplicate scene names, an existing manifest built with a
            different strategy or seed, or an empty cross-fit half.

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
        raise ValueError(f"`strategy` must be 'crossfit', 'model' or 'mild', got {strategy!r}.")
    if strategy == "model" and (model is None or not callable(model)):
        raise ValueError("strategy='model' needs `model`: an nn.Module or callable restorer.")
    if strategy == "mild" and not 0.0 < mild_strength < 1.0:
        raise ValueError(f"`mild_strength` must be in (0, 1), got {mild_strength!r}.")
    for arg, v in (("steps", steps), ("crop", crop), ("batch_size", batch_size)):
        check_int(v, arg)
    restorer_name = restorer_factory if isinstance(restorer_factory, str) else None
    restorer_factory, named_multiple = _restorer_and_multiple(restorer_factory)
    multiple = named_multiple if multiple is None else check_int(multiple, "multiple")
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError("`dataset` is empty.")
    augment = getattr(dataset, "augment", None)
    if isinstance(augment, PairedAugment) and augment.crop is not None:
        raise ValueError(
            "`dataset` crops its samples; triplets are built from whole images: create it without `crop`."
        )
    device = torch.device(device)
    out = Path(out_dir)
    for t in _TIERS:
        (out / t).mkdir(parents=True, exist_ok=True)
    _clean_temp_files(out)
    manifest_path = out / MANIFEST_NAME

    settings: dict[str, Any] = {"strategy": strategy, "seed": seed}
    if strategy == "crossfit":
        settings.update(steps=steps, crop=crop, batch_size=batch_size, lr=lr,
                        restorer=restorer_name or getattr(restorer_factory, "__name__",
                                                          type(restorer_factory).__name__))
    elif strategy == "mild":
        settings.update(mild_strength=mild_strength)
    else:
        settings.update(model=type(model).__name__)
    doc = load_manifest(manifest_path)
    if doc is None:
        # written up front, so cross-fit checkpoints on disk always belong to these settings
        doc = {"format": _FORMAT, "version": 1, "settings": settings, "scenes": []}
        atomic_write_bytes(manifest_path, json.dumps(doc, indent=1).encode())
    elif doc["settings"] != settings:
        raise ValueError(
            f"{manifest_path} was built with settings {doc['settings']}, now {settings}: "
            "use another `out_dir` or delete the old one."
        )
    scenes: dict[str, dict[str, Any]] = {s["name"]: s for s in doc["scenes"]}

    def complete(name: str) -> bool:
        entry = scenes.get(name)
        return entry is not None and all((out / entry[t]).is_file() for t in _TIERS)

    names = _scene_names(dataset)
    todo = [i for i, n in enumerate(names) if not complete(n)]

    renderer: dict[int, Callable[[Tensor], Tensor]] = {}
    folds = [scene_fold(n) for n in names]
    if strategy == "crossfit" and todo:
        halves = {f: [i for i in range(len(names)) if folds[i] == f] for f in (0, 1)}
        if not halves[0] or not halves[1]:
            raise ValueError(
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
            else:
                idx = [i for i in range(len(names)) if folds[i] == train_fold]
                net = _train_restorer(restorer_factory, dataset, idx, steps=steps, crop=crop,
                                      batch_size=batch_size, lr=lr, device=device, progress=progress,
                                      seed=stable_seed(seed, "crossfit", train_fold))
                _save_model(net, ckpt)
            renderer[train_fold] = net
        return renderer[train_fold]

    def _render_scene(i: int) -> None:
        name = names[i]
        sample = dataset[i]
        if str(sample["name"]) != name:
            raise ValueError(
                f"dataset[{i}] is named {sample['name']!r}, expected {name!r}: the dataset order changed."
            )
        low, high = sample["degraded"], sample["clean"]
        if strategy == "mild":
            medium = high + mild_strength * (low - high)
        else:
            fn = get_renderer(folds[i]) if strategy == "crossfit" else renderer[0]
            with torch.no_grad():
                medium = tiled_apply(fn, low.unsqueeze(0).to(device), tile=tile, overlap=overlap, multiple=multiple)
            medium = medium.squeeze(0).float().cpu()
        stem = _file_stem(name)
        paths = {t: f"{t}/{stem}.png" for t in _TIERS}
        for t, img in (("low", low), ("high", high), ("medium", medium.clamp(0, 1))):
            save_png(img, out / paths[t])
        tid = int(sample["task"])
        scenes[name] = {"name": name, "task": tid, "task_name": task_name(tid), **paths,
                        "strategy": strategy, "seed": seed}
        if strategy == "crossfit":
            scenes[name]["fold"] = folds[i]
        doc["scenes"] = list(scenes.values())
        atomic_write_bytes(manifest_path, json.dumps(doc, indent=1).encode())

    loop = todo
    if progress:
        from tqdm.auto import tqdm

        loop = tqdm(todo, desc=f"triplets ({strategy})")
    # datasets that synthesise on the fly draw from the global RNG: seed it per scene inside a
    # fork, so a scene's images do not depend on interruptions and the caller's RNG is untouched
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for i in loop:
            torch.manual_seed(stable_seed(seed, "scene", names[i]))
            _render_scene(i)
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
        raise FileNotFoundError(
            f"No triplet manifest at {path}: build the triplets first (build_triplets, strategy='crossfit')."
        )
    settings = doc["settings"]
    if settings.get("strategy") != "crossfit":
        raise ValueError(
            f"{path} was built with strategy={settings.get('strategy')!r}; only 'crossfit' trains restorers."
        )
    name = str(settings.get("restorer"))
    try:  # a named restorer rebuilds itself; a custom one needs its factory
        restorer_factory, named_multiple = _restorer_and_multiple(
            name if restorer_factory is None else restorer_factory
        )
    except ValueError:
        raise ValueError(
            f"{path} was built with the custom restorer {name!r}: pass `restorer_factory` to rebuild it."
        ) from None
    restorers: list[nn.Module] = []
    for fold in (0, 1):
        ckpt = _fold_checkpoint(path.parent, fold)
        if not ckpt.is_file():
            raise FileNotFoundError(f"{ckpt} is missing: the cross-fit build in {path.parent} did not finish.")
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


def _scene_names(dataset: Dataset) -> list[str]:
    items = getattr(dataset, "items", None)
    if items is not None and all(hasattr(it, "name") for it in items):
        names = [it.name for it in items]
    else:
        names = [str(dataset[i]["name"]) for i in range(len(dataset))]  # type: ignore[arg-type]
    seen: set[str] = set()
    dups = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dups:
        raise ValueError(f"Scene names must be unique; duplicated: {dups[:10]}.")
    return names
