"""Per-read random draws: a sample read at a given place of an epoch gets its own crops, flips and noise.

A task-balanced epoch visits a small dataset's images hundreds of times (Rain100L ×360 in
the paper's recipes). The authors' datasets draw fresh randomness on every read; ours
reproduce that, reproducibly, by keying every read with a :class:`ReadKey`: the sample's
index, the epoch and the read's global position in that epoch's order. A seeded dataset
derives its random stream from ``(seed, epoch, position, index)``, so

* every occurrence of a sample within an epoch gets its own draw;
* the same seed gives the same batches, and a resumed run (which skips the positions already
  trained on) continues with exactly the draws of an uninterrupted one;
* DDP ranks, which read different positions, get different draws.

The protocol: a dataset that can use keys sets the class attribute ``reads_keys = True`` and
accepts ``dataset[ReadKey(index, epoch, position)]`` besides ``dataset[index]``;
:func:`read_keyed` routes a key through ``ConcatDataset`` and ``Subset`` to such a dataset
(others are read with the plain index). :class:`KeyedDataset` wraps any dataset for a
``DataLoader`` whose sampler yields keys (``TaskBalancedSampler(..., keys=True)``).
A plain ``dataset[index]`` keeps its one draw per ``(seed, epoch, index)``.
"""

from __future__ import annotations

import bisect
from typing import Any, NamedTuple

import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

from .._seeding import stable_seed
from ..errors import InvalidTypeError

__all__ = ["KeyedDataset", "ReadKey", "read_generator", "read_keyed"]


class ReadKey(NamedTuple):
    """Which sample to read, and which read of the run it is.

    Attributes:
        index: The sample's index in the dataset the key is given to.
        epoch: The epoch of the read.
        position: The read's global position in the epoch's order (across DDP ranks), which
            tells the repeats of one sample apart.

    Example:
        >>> ReadKey(3, epoch=0, position=17)
        ReadKey(index=3, epoch=0, position=17)
    """

    index: int  # type: ignore[assignment]  # the field shadows tuple.index: `ReadKey(index=...)` is the public name
    epoch: int
    position: int


def read_generator(seed: int | None, index: int, epoch: int, key: ReadKey | None = None) -> torch.Generator:
    """The random stream of one read of sample ``index`` of a dataset seeded with ``seed``.

    Args:
        seed: The dataset's seed; ``None`` draws a fresh stream from the global RNG (which a
            ``DataLoader`` seeds per worker).
        index: The sample's index in the dataset.
        epoch: The dataset's epoch (``set_epoch``), used for a plain index read.
        key: The read's key: its ``epoch`` and ``position`` select the stream.

    Returns:
        A CPU generator — from ``(seed, epoch, index)`` for a plain read, from
        ``(seed, key.epoch, key.position, index)`` for a keyed one.

    Example:
        >>> a = read_generator(0, 5, 0, ReadKey(5, 0, 10)).initial_seed()
        >>> b = read_generator(0, 5, 0, ReadKey(5, 0, 11)).initial_seed()
        >>> a != b, a == read_generator(0, 5, 0, ReadKey(5, 0, 10)).initial_seed()
        (True, True)
    """
    if seed is None:
        value = int(torch.randint(0, 2**62, (1,)))
    elif key is None:
        value = stable_seed(seed, epoch, index)
    else:
        value = stable_seed(seed, "read", key.epoch, key.position, index)
    return torch.Generator().manual_seed(value)


def read_keyed(dataset: Dataset, key: ReadKey | int) -> Any:
    """Read ``key`` from ``dataset``, passing the key down to the dataset that holds the sample.

    ``ConcatDataset`` and ``Subset`` are looked through (the key's index is translated);
    a dataset with ``reads_keys = True`` receives the key, any other the plain index.

    Raises:
        IndexError: the key's index is out of range.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> d = ConcatDataset([TensorDataset(torch.arange(2)), TensorDataset(torch.arange(10, 13))])
        >>> read_keyed(d, ReadKey(3, 0, 0))
        (tensor(11),)
    """
    if not isinstance(key, ReadKey):
        return dataset[key]
    while True:
        if isinstance(dataset, ConcatDataset):
            n = len(dataset)
            if not -n <= key.index < n:
                raise IndexError(f"index {key.index} out of range for a dataset of {n}.")
            index = key.index % n
            part = bisect.bisect_right(dataset.cumulative_sizes, index)
            start = dataset.cumulative_sizes[part - 1] if part else 0
            dataset, key = dataset.datasets[part], key._replace(index=index - start)
        elif isinstance(dataset, Subset):
            key = key._replace(index=int(dataset.indices[key.index]))
            dataset = dataset.dataset
        elif getattr(dataset, "reads_keys", False):
            return dataset[key]
        else:
            return dataset[key.index]


class KeyedDataset(Dataset):
    """Wrap a dataset so that a ``DataLoader`` can read it with :class:`ReadKey` keys (or plain indices).

    Args:
        dataset: Any map-style dataset, e.g. a ``ConcatDataset`` of the task datasets.

    Example:
        >>> from torch.utils.data import ConcatDataset, DataLoader
        >>> from perceive_ir.data import TaskBalancedSampler
        >>> train = ConcatDataset([torch.utils.data.TensorDataset(torch.arange(3))])
        >>> sampler = TaskBalancedSampler(train, [2], seed=0, keys=True)
        >>> loader = DataLoader(KeyedDataset(train), batch_size=6, sampler=sampler)
        >>> sorted(next(iter(loader))[0].tolist())
        [0, 0, 1, 1, 2, 2]
    """

    def __init__(self, dataset: Dataset) -> None:
        if not isinstance(dataset, Dataset):
            raise InvalidTypeError(f"`dataset` must be a torch Dataset, got {type(dataset).__name__}.")
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: ReadKey | int) -> Any:
        return read_keyed(self.dataset, key)

    def __repr__(self) -> str:
        return f"KeyedDataset({self.dataset!r})"
