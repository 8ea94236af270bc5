"""One triplet build's settings, checked once, and the renderer interface every triplet strategy implements.

:func:`~perceive_ir.training.triplets.build_triplets` turns its arguments into one frozen
:class:`TripletBuild` (:func:`check_build`), then asks the strategy named by ``strategy``
(:data:`~perceive_ir.training.triplet_strategies.TRIPLET_STRATEGIES`) for a
:class:`TripletRenderer`, which makes the medium image of each scene.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._validation import check_int
from ..data.stage1_scenes import DenoiseSigmas, Scene
from ..data.transforms import PairedAugment
from ..errors import InvalidTypeError, InvalidValueError
from ..models.medium_restorers import medium_restorer
from .medium_training import Precision, check_task_resampling, uses_bf16

__all__ = [
    "TileBlend",
    "TripletBuild",
    "TripletRenderer",
    "check_build",
    "restorer_and_multiple",
]

TileBlend = Literal["uniform", "cosine"]


@dataclass(frozen=True)
class TripletBuild:
    """The checked settings of one triplet build (the arguments of ``build_triplets``, resolved).

    Attributes:
        dataset: Whole-image samples ``{"degraded", "clean", "task", "name"}``.
        out: The output folder.
        strategy: The strategy's registered name.
        model: The restorer of ``"model"`` (or ``None``).
        restorer_factory: Builds a fresh cross-fit restorer.
        restorer_name: Its name in ``MEDIUM_RESTORERS``, or ``None`` for a factory.
        heldout_restorers: Trained restorers, ``[k]`` holding out fold ``k`` (or ``None``).
        steps: Cross-fit training steps per half.
        crop: Training crop side.
        batch_size: Training batch.
        lr: AdamW learning rate at the start of the cosine schedule.
        min_lr: Learning rate at its end.
        weight_decay: AdamW weight decay.
        task_resampling: Repeats per epoch by task name.
        bf16: Whether cross-fit training and rendering run under bf16 autocast.
        denoise_sigmas: ``"cycle"`` or ``"all"``.
        fold_path: Maps an item's path to the path of its fold key (or ``None``: as is).
        mild_strength: The blend of ``"mild"``.
        seed: Seed of the cross-fit training and of each scene's draws.
        tile: Tile side of the rendering.
        overlap: Tile overlap.
        tile_blend: ``"uniform"`` or ``"cosine"``.
        multiple: Each tile is padded to a multiple of this.
        device: Device of training and rendering.
        progress: Show tqdm bars.
    """

    dataset: Dataset
    out: Path
    strategy: str
    model: Callable[[Tensor], Tensor] | None
    restorer_factory: Callable[[], nn.Module]
    restorer_name: str | None
    heldout_restorers: tuple[nn.Module, ...] | None
    steps: int
    crop: int
    batch_size: int
    lr: float
    min_lr: float
    weight_decay: float
    task_resampling: dict[str, int]
    bf16: bool
    denoise_sigmas: DenoiseSigmas
    fold_path: Callable[[str], str] | None
    mild_strength: float
    seed: int
    tile: int
    overlap: int
    tile_blend: TileBlend
    multiple: int
    device: torch.device
    progress: bool

    @property
    def precision(self) -> Literal["bf16", "fp32"]:
        """``"bf16"`` or ``"fp32"``: the precision the cross-fit restorers train and render in."""
        return "bf16" if self.bf16 else "fp32"


class TripletRenderer:
    """How one strategy makes the medium tier; subclass it and implement :meth:`medium`.

    A strategy is registered as a factory ``factory(build) -> TripletRenderer`` (a subclass
    itself is one) in :data:`~perceive_ir.training.triplet_strategies.TRIPLET_STRATEGIES`; the
    build then calls :meth:`settings` once, :meth:`start` once, and :meth:`medium` and
    :meth:`entry` for every scene still to render.

    Args:
        build: The build's checked settings.

    Example:
        >>> class Halfway(TripletRenderer):
        ...     def medium(self, scene, low, high):
        ...         return (low + high) / 2
        >>> Halfway.__mro__[1].__name__
        'TripletRenderer'
    """

    def __init__(self, build: TripletBuild) -> None:
        self.build = build

    def settings(self) -> dict[str, Any]:
        """Strategy settings recorded in the manifest (a resumed build must match them)."""
        return {}

    def start(self, scenes: Sequence[Scene], todo: Sequence[Scene]) -> None:
        """Before rendering: every scene of the build, and those still to render."""

    def medium(self, scene: Scene, low: Tensor, high: Tensor) -> Tensor:
        """The medium image (``3×H×W`` in ``[0, 1]``) of ``scene`` from its low and high images."""
        raise NotImplementedError

    def entry(self, scene: Scene) -> dict[str, Any]:
        """Extra fields of the scene's manifest entry."""
        return {}


def restorer_and_multiple(
    restorer_factory: str | Callable[[], nn.Module],
) -> tuple[Callable[[], nn.Module], int]:
    """The factory and input multiple of a named medium restorer, or of a factory (multiple 1).

    Raises:
        ValueError: an unknown name.
        TypeError: neither a name nor a callable.

    Example:
        >>> factory, multiple = restorer_and_multiple("restormer-small")
        >>> multiple
        8
    """
    if isinstance(restorer_factory, str):
        entry = medium_restorer(restorer_factory)
        return entry.factory, entry.multiple
    if callable(restorer_factory):
        return restorer_factory, 1
    raise InvalidTypeError(
        f"`restorer_factory` must be a restorer name or a factory, got {type(restorer_factory).__name__}."
    )


def _check_numbers(counts: Mapping[str, object], rates: Mapping[str, object]) -> None:
    for arg, value in counts.items():
        check_int(value, arg)
    for arg, x in rates.items():
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0:
            raise InvalidValueError(f"`{arg}` must be a non-negative number, got {x!r}.")


def _check_heldout(heldout_restorers: Sequence[nn.Module] | None) -> tuple[nn.Module, ...] | None:
    if heldout_restorers is None:
        return None
    nets = tuple(heldout_restorers)
    if len(nets) != 2 or not all(isinstance(m, nn.Module) for m in nets):
        raise InvalidValueError("`heldout_restorers` must be two nn.Modules: the one holding out fold 0, then fold 1.")
    for k, net in enumerate(nets):
        if getattr(net, "heldout_fold", k) not in (None, k):
            raise InvalidValueError(f"`heldout_restorers[{k}]` holds out fold {net.heldout_fold}, not {k}.")
    return nets


def _check_dataset(dataset: Dataset) -> None:
    if len(dataset) == 0:  # type: ignore[arg-type]  # a map-style Dataset has __len__
        raise InvalidValueError("`dataset` is empty.")
    augment = getattr(dataset, "augment", None)
    if isinstance(augment, PairedAugment) and augment.crop is not None:
        raise InvalidValueError(
            "`dataset` crops its samples; triplets are built from whole images: create it without `crop`."
        )


def check_build(
    dataset: Dataset,
    out_dir: str | os.PathLike[str],
    *,
    strategy: str,
    restorer_factory: str | Callable[[], nn.Module],
    heldout_restorers: Sequence[nn.Module] | None,
    task_resampling: Mapping[str, int] | None,
    precision: Precision,
    multiple: int | None,
    device: str | torch.device,
    **settings: Any,
) -> TripletBuild:
    """Check ``build_triplets``' arguments once and resolve them into a :class:`TripletBuild`.

    ``settings`` are the remaining fields of :class:`TripletBuild`, passed through as given
    (``steps``, ``crop``, ``batch_size`` and ``tile`` checked as positive ints; ``lr``,
    ``min_lr`` and ``weight_decay`` as non-negative numbers; ``tile_blend`` as a known blend).

    Raises:
        ValueError: a bad argument (named in the message).
        TypeError: ``restorer_factory`` is neither a name nor a callable.

    Example:
        >>> build = check_build(
        ...     [{"name": "a"}], "out", strategy="mild", model=None, restorer_factory="restormer-small",
        ...     heldout_restorers=None, task_resampling=None, precision="auto", multiple=None, device="cpu",
        ...     steps=1, crop=8, batch_size=1, lr=0.0, min_lr=0.0, weight_decay=0.0, denoise_sigmas="cycle",
        ...     fold_path=None, mild_strength=0.5, seed=0, tile=16, overlap=4, tile_blend="uniform", progress=False)
        >>> build.multiple, build.precision, build.task_resampling
        (8, 'fp32', {})
    """
    if settings["tile_blend"] not in ("uniform", "cosine"):
        raise InvalidValueError(f"`tile_blend` must be 'uniform' or 'cosine', got {settings['tile_blend']!r}.")
    _check_numbers({k: settings[k] for k in ("steps", "crop", "batch_size", "tile")},
                   {k: settings[k] for k in ("lr", "min_lr", "weight_decay")})
    resampling = check_task_resampling(task_resampling)
    heldout = _check_heldout(heldout_restorers)
    restorer_name = restorer_factory if isinstance(restorer_factory, str) else None
    factory, named_multiple = restorer_and_multiple(restorer_factory)
    if multiple is not None:
        check_int(multiple, "multiple")
    chosen_multiple = named_multiple if multiple is None else multiple
    _check_dataset(dataset)
    torch_device = torch.device(device)
    return TripletBuild(
        dataset=dataset, out=Path(out_dir), strategy=strategy, restorer_factory=factory, restorer_name=restorer_name,
        heldout_restorers=heldout, task_resampling=resampling, bf16=uses_bf16(precision, torch_device),
        multiple=int(chosen_multiple), device=torch_device, **settings,
    )
