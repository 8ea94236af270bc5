"""The fixed probe set of the per-epoch difficulty rule: a few training samples per task, chosen once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset

from .._seeding import stable_seed
from .._validation import check_int
from ..errors import InvalidTypeError

__all__ = ["probe_set"]


def _subsets(datasets: Dataset | Sequence[Dataset]) -> list[Dataset]:
    if isinstance(datasets, ConcatDataset):
        return list(datasets.datasets)
    if isinstance(datasets, Dataset):
        return [datasets]
    if isinstance(datasets, Sequence) and datasets and all(isinstance(d, Dataset) for d in datasets):
        return list(datasets)
    raise InvalidTypeError(f"`datasets` must be a Dataset or a non-empty list of them, got {type(datasets).__name__}.")


def probe_set(
    datasets: Dataset | Sequence[Dataset], per_task: int = 24, seed: int = 0
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """A fixed probe set: ``per_task`` samples of every task, one ``(degraded, clean, tasks)`` batch per task.

    Build it once, before training, and pass the same set to
    :meth:`~perceive_ir.QualityAwareLoss.update_difficulty` every epoch (the paper's probe;
    the authors' code takes 24 training crops per task). Samples are drawn without
    replacement by a seeded permutation of each dataset, read at epoch 0 (datasets with
    ``set_epoch`` are set to 0 first), and grouped by the ``task`` of each sample. (The
    authors also spread the picks of each task over its range of input PSNR; this uniform
    draw does not.)

    Args:
        datasets: Training datasets whose samples are ``{"degraded", "clean", "task", ...}``.
        per_task: Samples per task (fewer when a task has fewer).
        seed: Seed of the selection.

    Returns:
        One ``(degraded, clean, task ids)`` batch per task, in task-id order.

    Example:
        >>> class Pairs(Dataset):
        ...     def __len__(self): return 5
        ...     def __getitem__(self, i):
        ...         return {"degraded": torch.zeros(3, 8, 8), "clean": torch.ones(3, 8, 8), "task": i % 2}
        >>> [(d.shape[0], t.tolist()) for d, _, t in probe_set(Pairs(), per_task=2)]
        [(2, [0, 0]), (2, [1, 1])]
    """
    check_int(per_task, "per_task")
    by_task: dict[int, list[dict[str, Any]]] = {}
    for index, subset in enumerate(_subsets(datasets)):
        if hasattr(subset, "set_epoch"):
            subset.set_epoch(0)
        generator = torch.Generator().manual_seed(stable_seed("probe", seed, index))
        for i in torch.randperm(len(subset), generator=generator).tolist():  # type: ignore[arg-type]
            sample = subset[i]
            chosen = by_task.setdefault(int(sample["task"]), [])
            if len(chosen) < per_task:
                chosen.append(sample)
            if getattr(subset, "task_id", None) is not None and len(chosen) >= per_task:
                break  # a one-task dataset (the paired datasets): no need to read further
    batches = []
    for task in sorted(by_task):
        samples = by_task[task]
        batches.append((
            torch.stack([s["degraded"] for s in samples]),
            torch.stack([s["clean"] for s in samples]),
            torch.full((len(samples),), task, dtype=torch.long),
        ))
    return batches
