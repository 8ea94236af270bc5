"""Task-balanced samplers: repeat each task's dataset, or fill each global batch with equal task counts.

:class:`TaskBalancedSampler` visits every sample of task ``i`` ``r_i`` times per epoch;
:class:`TaskQuotaSampler` draws every global batch's near-equal task counts with replacement
(the authors' stage 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import torch
from torch.utils.data import ConcatDataset, Dataset, Sampler

from .._seeding import stable_seed
from .._validation import check_int
from ..errors import InvalidTypeError, InvalidValueError
from .draws import ReadKey

__all__ = ["PAPER_REPEATS", "TaskBalancedSampler", "TaskQuotaSampler"]


def _size(dataset: Dataset) -> int:
    """The length of a map-style dataset (``torch``'s ``Dataset`` type does not declare ``__len__``)."""
    return len(dataset)  # type: ignore[arg-type]  # every dataset a sampler is given defines __len__

#: Per-task repetition factors of the 5-task setting. Source: the paper's released training
#: configuration. They bring the small sets (Rain100L, LOL, GoPro) up to roughly the size of
#: the large ones, so every task is seen about equally often per epoch.
PAPER_REPEATS: dict[str, int] = {"denoise": 12, "dehaze": 1, "derain": 360, "deblur": 30, "lowlight": 140}


class _EpochSampler(Sampler):
    """One epoch's global order, sliced per DDP rank; yields indices or :class:`ReadKey` keys."""

    def __init__(self, dataset: ConcatDataset, seed: int, num_replicas: int, rank: int, keys: bool) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise InvalidTypeError(f"`dataset` must be a torch.utils.data.ConcatDataset, got {type(dataset).__name__}.")
        if not isinstance(num_replicas, int) or num_replicas < 1 or not 0 <= rank < num_replicas:
            raise InvalidValueError(f"Need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas}, {rank}.")
        self.dataset = dataset
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.keys = bool(keys)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self.epoch = int(epoch)

    def _epoch_indices(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rank_indices(self) -> list[int]:
        idx = self._epoch_indices()
        if self.num_replicas > 1:
            per = -(-len(idx) // self.num_replicas)
            idx = idx.repeat(-(-per * self.num_replicas // len(idx)))[: per * self.num_replicas]
            idx = idx[self.rank :: self.num_replicas]
        return idx.tolist()

    def read_keys(self) -> list[ReadKey]:
        """This rank's reads of the current epoch: ``ReadKey(index, epoch, global position)``.

        The ``j``-th read of rank ``r`` holds position ``j·num_replicas + r`` of the epoch's
        global order, so every read of the epoch (repeats and DDP padding included) has its own
        position, and a resumed run that skips the first reads keeps the positions of the rest.
        """
        return [
            ReadKey(i, self.epoch, j * self.num_replicas + self.rank) for j, i in enumerate(self._rank_indices())
        ]

    def __iter__(self) -> Iterator:
        return iter(self.read_keys() if self.keys else self._rank_indices())


class TaskBalancedSampler(_EpochSampler):
    """Indices into a ``ConcatDataset`` of per-task datasets, each repeated ``r_i`` times.

    An epoch visits every sample of dataset ``i`` exactly ``r_i`` times, shuffled across
    tasks. With ``seed``, each epoch's order depends only on ``(seed, epoch)``: call
    :meth:`set_epoch` at the start of every epoch. With ``num_replicas > 1`` (DDP) each rank
    gets a disjoint slice of the same order (padded by wrapping to equal length).

    With ``keys=True`` it yields :class:`~perceive_ir.data.draws.ReadKey` keys instead of plain
    indices; read them through :class:`~perceive_ir.data.draws.KeyedDataset` and every repeat of
    a seeded sample gets its own crop, flips and noise (a plain index reads one draw per
    ``(seed, epoch, index)``, the same for all its repeats in the epoch).

    Args:
        dataset: A ``ConcatDataset`` of the task datasets.
        repeats: Per-dataset factors as a sequence (one per sub-dataset), or a mapping from
            task name to factor (each sub-dataset's ``.task`` attribute is looked up, e.g.
            :data:`PAPER_REPEATS`); ``None`` means 1 each.
        shuffle: Shuffle the epoch's indices.
        seed: Seed of the per-epoch order.
        num_replicas: Number of distributed processes.
        rank: This process's rank.
        keys: Yield ``ReadKey(index, epoch, position)`` keys instead of indices.

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
        keys: bool = False,
    ) -> None:
        super().__init__(dataset, seed, num_replicas, rank, keys)
        n = len(dataset.datasets)
        if repeats is None:
            factors: list[int] = [1] * n
        elif isinstance(repeats, Mapping):
            factors = []
            for i, d in enumerate(dataset.datasets):
                task = getattr(d, "task", None)
                if not isinstance(task, str):
                    raise InvalidValueError(f"`repeats` is a mapping but dataset {i} has no `.task` name to look up.")
                if task not in repeats:
                    raise InvalidValueError(
                        f"`repeats` has no factor for task {task!r} (dataset {i}); has {sorted(repeats)}."
                    )
                factors.append(repeats[task])
        else:
            factors = list(repeats)
            if len(factors) != n:
                raise InvalidValueError(f"`repeats` has {len(factors)} factors for {n} datasets.")
        for i, f in enumerate(factors):
            check_int(f, f"repeats[{i}]", minimum=0)
        self.repeats = factors
        self.shuffle = shuffle
        self.total = sum(f * _size(d) for f, d in zip(factors, dataset.datasets, strict=True))
        if self.total == 0:
            raise InvalidValueError("The sampler would yield no indices (all factors or datasets are zero).")

    def _epoch_indices(self) -> torch.Tensor:
        parts = []
        start = 0
        for f, d in zip(self.repeats, self.dataset.datasets, strict=True):
            parts.append(torch.arange(start, start + _size(d)).repeat(f))
            start += _size(d)
        idx = torch.cat(parts)
        if self.shuffle:
            g = torch.Generator().manual_seed(stable_seed("TaskBalancedSampler", self.seed, self.epoch))
            idx = idx[torch.randperm(len(idx), generator=g)]
        return idx

    def __len__(self) -> int:
        return -(-self.total // self.num_replicas) if self.num_replicas > 1 else self.total


class TaskQuotaSampler(_EpochSampler):
    """Every global batch holds near-equal counts of each task, drawn with replacement (the authors' stage 1).

    The epoch is split into ``ceil(len(dataset) / batch_size)`` global batches. Batch ``b``
    gives task ``t`` (the ``t``-th sub-dataset, of ``T``) ``batch_size // T`` samples, plus
    one when ``(t - b·(batch_size mod T)) mod T < batch_size mod T`` (the extra places rotate
    over the tasks); each task's samples are drawn uniformly with replacement from its
    dataset and the batch is shuffled. This is the authors' ``TaskBalancedDistributedSampler``
    ``[paper: authors src/perceiveIR/stage1_data.py, TaskBalancedDistributedSampler]``: small
    tasks are drawn as often as large ones, and a scene may appear twice in one batch. Under
    DDP rank ``r`` takes positions ``r, r + num_replicas, ...`` of every global batch, as theirs
    does. (Their random stream is ``torch.Generator().manual_seed(seed + epoch)``, ours is
    derived from ``(seed, epoch)`` with SHA-256; their task order is denoise, dehaze, derain,
    deblur, lowlight, ours is the sub-datasets' order. The draws are alike in distribution,
    not index for index.)

    Args:
        dataset: A ``ConcatDataset`` with one sub-dataset per task (none empty).
        batch_size: The global batch (all processes and accumulation steps together), a
            multiple of ``num_replicas``.
        seed: Seed of the per-epoch draws.
        num_replicas: Number of distributed processes.
        rank: This process's rank.
        keys: Yield ``ReadKey(index, epoch, position)`` keys instead of indices.

    Raises:
        ValueError: an empty sub-dataset, or a ``batch_size`` that is not a positive multiple
            of ``num_replicas``.

    Example:
        >>> import torch
        >>> from torch.utils.data import ConcatDataset, TensorDataset
        >>> ds = ConcatDataset([TensorDataset(torch.zeros(9)), TensorDataset(torch.zeros(1))])
        >>> s = TaskQuotaSampler(ds, batch_size=4, seed=0)
        >>> idx = list(s); len(idx), idx.count(9)   # 3 batches, each with two draws of the one-image task
        (12, 6)
    """

    def __init__(
        self,
        dataset: ConcatDataset,
        batch_size: int,
        *,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        keys: bool = False,
    ) -> None:
        super().__init__(dataset, seed, num_replicas, rank, keys)
        check_int(batch_size, "batch_size")
        if batch_size % num_replicas:
            raise InvalidValueError(f"`batch_size` ({batch_size}) must be a multiple of num_replicas ({num_replicas}).")
        sizes = [_size(d) for d in dataset.datasets]
        empty = [i for i, n in enumerate(sizes) if n == 0]
        if empty:
            raise InvalidValueError(
                f"Task-quota sampling needs samples of every task; sub-dataset(s) {empty} are empty."
            )
        self.batch_size = batch_size
        self.batches = max(1, math.ceil(len(dataset) / batch_size))

    def _epoch_indices(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(stable_seed("TaskQuotaSampler", self.seed, self.epoch))
        starts = [0, *self.dataset.cumulative_sizes[:-1]]
        sizes = [_size(d) for d in self.dataset.datasets]
        tasks = len(sizes)
        base, extra = divmod(self.batch_size, tasks)
        order = []
        for b in range(self.batches):
            chosen = []
            for t in range(tasks):
                quota = base + int((t - b * extra) % tasks < extra)
                chosen.append(starts[t] + torch.randint(sizes[t], (quota,), generator=g))
            batch = torch.cat(chosen)
            order.append(batch[torch.randperm(len(batch), generator=g)])
        return torch.cat(order)

    def __len__(self) -> int:
        return self.batches * self.batch_size // self.num_replicas
