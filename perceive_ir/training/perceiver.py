"""Stage 1: learn the quality perceiver's tier prompts on (low, medium, high) triplets."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn
from torch.utils.data import Dataset, Subset

from ..data.triplet_dataset import TripletDataset
from ..errors import InvalidTypeError
from ..perceive.perceiver import QualityPerceiver
from .config import TrainConfig
from .loop import Callback, ModelSpec, Trainer, resolve_model

__all__ = ["PerceiverTrainer", "balanced_repeats", "split_by_task"]


class _TaskSubset(Subset):
    """The scenes of one task; forwards ``set_epoch`` so seeded crops change per epoch."""

    def __init__(self, dataset: TripletDataset, indices: list[int], task: int) -> None:
        super().__init__(dataset, indices)
        self.task = task

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)  # type: ignore[attr-defined]


def split_by_task(dataset: TripletDataset) -> list[_TaskSubset]:
    """One subset per task id of a triplet manifest, in task-id order."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, scene in enumerate(dataset.scenes):
        groups[int(scene["task"])].append(i)
    return [_TaskSubset(dataset, groups[t], t) for t in sorted(groups)]


def balanced_repeats(sizes: Sequence[int]) -> list[int]:
    """Repeat factors that bring every task up to about the largest one.

    Example:
        >>> balanced_repeats([100, 10, 30])
        [1, 10, 3]
    """
    largest = max(sizes)
    return [max(1, round(largest / n)) for n in sizes]


class _PerceiverStep(nn.Module):
    def __init__(self, perceiver: QualityPerceiver, callbacks: Sequence[Callback]) -> None:
        super().__init__()
        self.perceiver = perceiver
        self.callbacks = list(callbacks)

    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.perceiver.triplet_loss(batch["low"], batch["medium"], batch["high"])
        terms = {"ce": loss.detach()}
        for cb in self.callbacks:
            for name, value in cb.loss_terms(self.perceiver, batch).items():
                loss = loss + value
                terms[name] = value.detach()
        return loss, terms


class PerceiverTrainer(Trainer):
    """Stage 1 of Perceive-IR: train the three tier prompts (CLIP stays frozen).

    Cross-entropy of each image of a triplet against its tier, AdamW with warmup + cosine
    (the paper: lr 4e-5, 100K iterations, 224² aligned crops, task-balanced sampling).
    Scenes are grouped by task. By default every optimizer step's global batch holds
    near-equal counts of each task, drawn with replacement, as the authors' stage 1 samples
    ``[paper: authors src/perceiveIR/stage1_data.py, TaskBalancedDistributedSampler]``
    (:class:`~perceive_ir.data.TaskQuotaSampler`); ``sampling="repeat"`` instead repeats each
    task to about the size of the largest one (or by ``repeats``) and visits every scene that
    many times per epoch ``[ours: an epoch that sees every scene, without replacement]``.
    Each read gets its own crop and flip (see :class:`~perceive_ir.training.Trainer`). At the
    end the main process writes ``perceiver/`` with
    :meth:`~perceive_ir.QualityPerceiver.save_pretrained`; checkpoints and exact resume work
    as in :class:`~perceive_ir.training.RestorationTrainer`.

    Args:
        perceiver: A :class:`~perceive_ir.QualityPerceiver` or a factory building one.
        triplets: A :class:`~perceive_ir.data.TripletDataset`, or the manifest path (read
            with ``crop`` and ``seed=config.seed``).
        config: :class:`TrainConfig` (set ``lr=4e-5`` for the paper's schedule).
        crop: Crop side when ``triplets`` is a path (the paper: 224).
        repeats: Per-task repeat factors (task-id order) of ``sampling="repeat"``; default
            :func:`balanced_repeats`.
        sampling: ``"quota"`` (the authors') or ``"repeat"`` (see above).
        callbacks: Extra :class:`~perceive_ir.training.Callback` objects.
        accelerator: An ``accelerate.Accelerator`` (default: built from ``config``).

    Raises:
        TypeError: ``perceiver`` is not a QualityPerceiver (or factory of one).

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from perceive_ir.data import PairedFolderDataset
        >>> from perceive_ir.training import build_triplets
        >>> from perceive_ir.data.io import save_png
        >>> from perceive_ir.testing import tiny_clip_config
        >>> root = Path(tempfile.mkdtemp())
        >>> for n in ("a", "b"):
        ...     save_png(torch.rand(3, 32, 32), root / "lq" / f"{n}.png")
        ...     save_png(torch.rand(3, 32, 32), root / "gt" / f"{n}.png")
        >>> manifest = build_triplets(PairedFolderDataset(root / "lq", root / "gt", task="denoise"),
        ...                           root / "triplets", strategy="mild", progress=False)
        >>> cfg = TrainConfig(output_dir=str(root / "run"), batch_size=2, max_steps=2, progress=False)
        >>> trainer = PerceiverTrainer(lambda: QualityPerceiver(tiny_clip_config(), None, n_ctx=4), manifest,
        ...                            cfg, crop=16)
        >>> [row["step"] for row in trainer.train()], (root / "run" / "perceiver" / "config.json").is_file()
        ([1, 2], True)
    """

    def __init__(
        self,
        perceiver: QualityPerceiver | ModelSpec,
        triplets: TripletDataset | str | os.PathLike[str],
        config: TrainConfig,
        *,
        crop: int | None = 224,
        repeats: Sequence[int] | None = None,
        callbacks: Sequence[Callback] = (),
        accelerator: Any = None,
        sampling: str = "quota",
    ) -> None:
        if not isinstance(triplets, Dataset):
            triplets = TripletDataset(triplets, crop=crop, seed=config.seed)
        if not isinstance(triplets, TripletDataset):
            raise InvalidTypeError(
                f"`triplets` must be a TripletDataset or a manifest path, got {type(triplets).__name__}."
            )
        parts = split_by_task(triplets)
        if sampling == "repeat":
            repeats = list(repeats) if repeats is not None else balanced_repeats([len(p) for p in parts])
        super().__init__(parts, config, repeats=repeats, callbacks=callbacks, accelerator=accelerator,
                         sampling=sampling)
        from accelerate.utils import set_seed

        set_seed(config.seed)
        self.model = resolve_model(perceiver, "perceiver")
        if not isinstance(self.model, QualityPerceiver):
            raise InvalidTypeError(f"`perceiver` must be a QualityPerceiver, got {type(self.model).__name__}.")
        self.model.requires_grad_(False)
        self.model.prompts.requires_grad_(True)
        self.model.to(self.accelerator.device).train()
        self._setup(_PerceiverStep(self.model, self.callbacks))

    @property
    def perceiver(self) -> QualityPerceiver:
        """The perceiver being trained."""
        return self.model  # type: ignore[return-value]

    def _step_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:
        return batch

    def on_train_end(self) -> None:
        """Save the trained perceiver to ``output_dir/perceiver`` (``save_pretrained``)."""
        self.perceiver.save_pretrained(self.output_dir / "perceiver")
        self.log_text(f"saved the perceiver to {self.output_dir / 'perceiver'}")
