"""TaskBalancedSampler: repetition factors, per-epoch determinism, distributed slices."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch.utils.data import ConcatDataset, Dataset

from perceive_ir.data import PAPER_REPEATS, TaskBalancedSampler


class _Task(Dataset):
    def __init__(self, task: str, n: int) -> None:
        self.task, self.n = task, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def _concat() -> ConcatDataset:
    return ConcatDataset([_Task("denoise", 5), _Task("derain", 2), _Task("dehaze", 7), _Task("deblur", 3),
                          _Task("lowlight", 1)])


def test_repeats_respected_with_paper_factors() -> None:
    ds = _concat()
    s = TaskBalancedSampler(ds, PAPER_REPEATS, seed=0)
    idx = list(s)
    assert len(idx) == len(s) == 5 * 12 + 2 * 360 + 7 * 1 + 3 * 30 + 1 * 140
    counts = Counter(idx)
    expected = [12] * 5 + [360] * 2 + [1] * 7 + [30] * 3 + [140]
    assert [counts[i] for i in range(len(ds))] == expected


def test_sequence_repeats_and_shuffle() -> None:
    ds = _concat()
    s = TaskBalancedSampler(ds, [1, 2, 0, 1, 3], seed=1)
    counts = Counter(s)
    assert counts[5] == 2 and counts[7] == 0 and counts[17] == 3
    ordered = list(TaskBalancedSampler(ds, [1, 2, 0, 1, 3], shuffle=False))
    assert ordered[:7] == [0, 1, 2, 3, 4, 5, 6] and Counter(ordered) == counts
    assert list(s) != ordered


def test_per_epoch_deterministic() -> None:
    a, b = TaskBalancedSampler(_concat(), seed=3), TaskBalancedSampler(_concat(), seed=3)
    assert list(a) == list(b)
    e0 = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) != e0
    assert list(TaskBalancedSampler(_concat(), seed=4)) != e0
    state = torch.get_rng_state()
    list(a)
    assert torch.equal(torch.get_rng_state(), state)


def test_distributed_ranks_are_disjoint_and_cover() -> None:
    ds = _concat()
    full = TaskBalancedSampler(ds, [1, 1, 1, 1, 1], seed=0)
    parts = [list(TaskBalancedSampler(ds, [1, 1, 1, 1, 1], seed=0, num_replicas=3, rank=r)) for r in range(3)]
    assert all(len(p) == 6 for p in parts)  # 18 samples -> 6 each
    assert sorted(sum(parts, [])) == sorted(full)


def test_errors() -> None:
    with pytest.raises(TypeError, match="ConcatDataset"):
        TaskBalancedSampler([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lowlight"):
        TaskBalancedSampler(_concat(), {"denoise": 1, "derain": 1, "dehaze": 1, "deblur": 1})
    with pytest.raises(ValueError, match="3 factors for 5"):
        TaskBalancedSampler(_concat(), [1, 2, 3])
    with pytest.raises(ValueError, match=r"repeats\[1\]"):
        TaskBalancedSampler(_concat(), [1, -1, 1, 1, 1])


def test_end_to_end_task_balanced_loader(tmp_path) -> None:  # noqa: ANN001
    from torch.utils.data import DataLoader

    from perceive_ir.data import FileListDataset, write_filelist

    from ._helpers import make_layout

    sets = []
    for name, split in (("bsd400_wed", "train"), ("rain100l", "train"), ("sots_outdoor", "test"), ("lol", "train")):
        make_layout(name, tmp_path / name)
        path = write_filelist(name, tmp_path / name, tmp_path / "lists", [split])[0]
        sets.append(FileListDataset(path, crop=16, hflip=True, seed=0))
    train = ConcatDataset(sets)
    repeats = {"denoise": 1, "derain": 4, "dehaze": 2, "lowlight": 3}
    sampler = TaskBalancedSampler(train, repeats, seed=0)
    loader = DataLoader(train, batch_size=len(sampler), sampler=sampler)
    batch = next(iter(loader))
    assert batch["degraded"].shape == (len(sampler), 3, 16, 16)
    labels = Counter(batch["task"].tolist())  # integer task ids, usable as contrastive labels
    assert labels == {0: 9 * 1, 1: 2 * 4, 2: 2 * 2, 4: 2 * 3}
