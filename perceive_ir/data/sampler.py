"""A task-balanced sampler: repeat each task's dataset a set number of times per epoch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
from torch.utils.data import ConcatDataset, Sampler

from .._seeding import stable_seed
from .._validation import check_int

__all__ = ["PAPER_REPEATS", "TaskBalancedSampler"]

#: Per-task repetition factors of the 5-task setting. Source: the paper's released training
#: configuration. They bring the small sets (Rain100L, LOL, GoPro) up to roughly the size of
#: the large ones, so every task is seen about equally often per epoch.
PAPER_REPEATS: dict[str, int] = {"denoise": 12, "dehaze": 1, "derain": 360, "deblur": 30, "lowlight": 140}


class TaskBalancedSampler(Sampler[int]):
    """Indices into a ``ConcatDataset`` of per-task datasets, each repeated ``r_i`` times.

    An epoch visits every sample of dataset ``i`` exactly ``r_i`` times, shuffled across
    tasks. With ``seed``, each epoch's order depends only on ``(seed, epoch)``: call
    :meth:`set_epoch` at the start of every epoch. With ``num_replicas > 1`` (DDP) each rank
    gets a disjoint slice of the same order (padded by wrapping to equal length).

    Args:
        dataset: A ``ConcatDataset`` of the task datasets.
        repeats: Per-dataset factors as a sequence (one per sub-dataset), or a mapping from
            task name to factor (each sub-dataset's ``.task`` attribute is looked up, e.g.
            :data:`PAPER_REPEATS`); ``None`` means 1 each.
        shuffle: Shuffle the epoch's indices.
        seed: Seed of the per-epoch order.
        num_replicas: Number of distributed processes.
        rank: This process's rank.

    Example:
        >>> import torch
        >>> from torch.utils.data import ConcatDataset, TensorDataset
        >>> ds = ConcatDataset([TensorDataset(torch.zeros(2)), TensorDataset(torch.zeros(3))])
        >>> s = TaskBalancedSampler(ds, repeats=[3, 1], seed=0)
        >>> len(s), sorted(list(s)).count(0)
        (9, 3)
    """

    def __init__(
        self,
        dataset: ConcatDataset,
        repeats: Sequence[int] | Mapping[str, int] | None = None,
        *,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(f"`dataset` must be a torch.utils.data.ConcatDataset, got {type(dataset).__name__}.")
        n = len(dataset.datasets)
        if repeats is None:
            factors = [1] * n
        elif isinstance(repeats, Mapping):
            factors = []
            for i, d in enumerate(dataset.datasets):
                task = getattr(d, "task", None)
                if not isinstance(task, str):
                    raise ValueError(f"`repeats` is a mapping but dataset {i} has no `.task` name to look up.")
                if task not in repeats:
                    raise ValueError(f"`repeats` has no factor for task {task!r} (dataset {i}); has {sorted(repeats)}.")
                factors.append(repeats[task])
        else:
            factors = list(repeats)
            if len(factors) != n:
                raise ValueError(f"`repeats` has {len(factors)} factors for {n} datasets.")
        for i, f in enumerate(factors):
            check_int(f, f"repeats[{i}]", minimum=0)
        if not isinstance(num_replicas, int) or num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"Need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas}, {rank}.")
        self.dataset = dataset
        self.repeats = factors
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.total = sum(f * len(d) for f, d in zip(factors, dataset.datasets, strict=True))
        if self.total == 0:
            raise ValueError("The sampler would yield no indices (all factors or datasets are zero).")

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self.epoch = int(epoch)

    def _epoch_indices(self) -> torch.Tensor:
        parts = []
        start = 0
        for f, d in zip(self.repeats, self.dataset.datasets, strict=True):
            parts.append(torch.arange(start, start + len(d)).repeat(f))
            start += len(d)
        idx = torch.cat(parts)
        if self.shuffle:
            g = torch.Generator().manual_seed(stable_seed("TaskBalancedSampler", self.seed, self.epoch))
            idx = idx[torch.randperm(len(idx), generator=g)]
        return idx

    def __iter__(self) -> Iterator[int]:
        idx = self._epoch_indices()
        if self.num_replicas > 1:
            per = -(-len(idx) // self.num_replicas)
            idx = idx.repeat(-(-per * self.num_replicas // len(idx)))[: per * self.num_replicas]
            idx = idx[self.rank :: self.num_replicas]
        return iter(idx.tolist())

    def __len__(self) -> int:
        return -(-self.total // self.num_replicas) if self.num_replicas > 1 else self.total
