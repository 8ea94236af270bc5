"""The paper's ``"crossfit"`` triplet strategy: each half of the scenes rendered by a restorer trained on the other.

As the authors' ``train_stage1_medium.py`` and ``render_stage1_medium.py`` do it: scenes are
split in two by the SHA-1 of ``f"{task}|{path}"``
(:func:`~perceive_ir.data.stage1_scenes.scene_fold`); a restorer (by default the authors'
``RestormerMedium``, :class:`~perceive_ir.models.official.MediumRestorer`) is trained with L1
on each half (:mod:`~perceive_ir.training.medium_training`) and renders the *other* half in
512² tiles, so every medium image comes from a model that never saw that scene. The two
trained restorers stay in the build's folder as ``crossfit_fold<k>.pt`` (the restorer trained
on fold ``k``), so an interrupted build reuses them and stage 2 loads them as proxies
(:func:`~perceive_ir.training.crossfit_restorers.load_crossfit_restorers`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._atomic import atomic_write_bytes
from .._files import safe_torch_load
from .._seeding import stable_seed
from ..data.stage1_scenes import Scene, read_scene
from ..errors import InvalidValueError
from .medium_training import train_medium_restorer
from .triplet_build import TripletBuild, TripletRenderer
from .triplet_renderers import render_tiles

__all__ = ["CrossfitRenderer", "fold_checkpoint", "load_fold"]


def fold_checkpoint(out: Path, fold: int) -> Path:
    """Where a cross-fit build keeps the restorer trained on the scenes of ``fold``.

    Example:
        >>> fold_checkpoint(Path("triplets"), 1).as_posix()
        'triplets/crossfit_fold1.pt'
    """
    return out / f"crossfit_fold{fold}.pt"


def load_fold(restorer_factory: Callable[[], nn.Module], ckpt: Path) -> nn.Module:
    """A fresh ``restorer_factory()`` network holding the weights a cross-fit build saved at ``ckpt``."""
    net = restorer_factory()
    net.load_state_dict(safe_torch_load(ckpt, "a cross-fit restorer's weights"))
    return net


def _save_model(model: nn.Module, path: Path) -> None:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _train_restorer(
    factory: Callable[[], nn.Module],
    dataset: Dataset,
    scenes: Sequence[Scene],
    **options: Any,
) -> nn.Module:
    """Train ``factory()`` on ``scenes`` (one fold) as the authors train a medium restorer."""
    return train_medium_restorer(
        factory,
        lambda position, generator: read_scene(dataset, scenes[position], generator),
        [s.task_name for s in scenes],
        **options,
    )


class CrossfitRenderer(TripletRenderer):
    """``"crossfit"``: a scene of fold ``f`` rendered by the restorer trained on fold ``1 - f``.

    Each fold's restorer is, in this order: loaded from the build's checkpoint, taken from
    ``heldout_restorers`` (and saved as the checkpoint), or trained (and saved).
    """

    def __init__(self, build: TripletBuild) -> None:
        super().__init__(build)
        self._halves: dict[int, list[Scene]] = {}
        self._restorers: dict[int, nn.Module] = {}

    def settings(self) -> dict[str, Any]:
        """The training settings, precision, tile blend, restorer name and whether it came pretrained."""
        b = self.build
        restorer = b.restorer_name or getattr(b.restorer_factory, "__name__", type(b.restorer_factory).__name__)
        return {"steps": b.steps, "crop": b.crop, "batch_size": b.batch_size, "lr": b.lr, "min_lr": b.min_lr,
                "weight_decay": b.weight_decay, "task_resampling": b.task_resampling, "precision": b.precision,
                "tile_blend": b.tile_blend, "restorer": restorer, "pretrained": b.heldout_restorers is not None}

    def start(self, scenes: Sequence[Scene], todo: Sequence[Scene]) -> None:
        """Split the scenes by fold; refuse a build with scenes to render and an empty half."""
        if not todo:
            return
        self._halves = {f: [s for s in scenes if s.fold == f] for f in (0, 1)}
        if not self._halves[0] or not self._halves[1]:
            raise InvalidValueError(
                f"crossfit needs scenes in both halves; the hash split gave {len(self._halves[0])} and "
                f"{len(self._halves[1])}. Add scenes or use strategy='mild'/'model'."
            )

    def medium(self, scene: Scene, low: Tensor, high: Tensor) -> Tensor:
        """The other fold's restorer applied in tiles."""
        return render_tiles(self._restorer(1 - scene.fold), low, self.build, bf16=self.build.bf16)

    def entry(self, scene: Scene) -> dict[str, Any]:
        """The scene's fold."""
        return {"fold": scene.fold}

    def _restorer(self, train_fold: int) -> nn.Module:
        """The restorer trained on ``train_fold``: loaded, given or trained once, then kept."""
        if train_fold not in self._restorers:
            b = self.build
            ckpt = fold_checkpoint(b.out, train_fold)
            if ckpt.is_file():
                net = load_fold(b.restorer_factory, ckpt).to(b.device).eval()
            elif b.heldout_restorers is not None:  # trained on `train_fold`, so it holds out the other
                net = b.heldout_restorers[1 - train_fold].to(b.device).eval()
                _save_model(net, ckpt)
            else:
                net = self._train(train_fold)
                _save_model(net, ckpt)
            self._restorers[train_fold] = net
        return self._restorers[train_fold]

    def _train(self, fold: int) -> nn.Module:
        b = self.build
        return _train_restorer(
            b.restorer_factory, b.dataset, self._halves[fold], steps=b.steps, crop=b.crop, batch_size=b.batch_size,
            lr=b.lr, min_lr=b.min_lr, weight_decay=b.weight_decay, task_resampling=b.task_resampling,
            precision=b.precision, seed=stable_seed(b.seed, "crossfit", fold), device=b.device, progress=b.progress,
        )
