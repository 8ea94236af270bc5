"""One rank of the 2-process metric test (gloo, CPU), in a module of its own so a spawned process imports little."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist

from perceive_ir import QualityPerceiver
from perceive_ir.integrations.torchmetrics import PerceiveIRQuality

#: Unequal shards: rank 0 rates 5 images, rank 1 rates 3.
SHARDS = (5, 3)
#: The (output, reduction) pairs measured: a mean, a sum of counts, and the per-image states gathered.
MODES = (("score", "mean"), ("tier", "sum"), ("probs", "none"))


def run(rank: int, world: int, port: int, folder: str, images: torch.Tensor, out: str) -> None:
    """Rate this rank's shard in batches of 2 and save each mode's synced result to ``out/rank<rank>.pt``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        perceiver = QualityPerceiver.from_pretrained(folder)
        start = sum(SHARDS[:rank])
        shard = images[start:start + SHARDS[rank]]
        results = {}
        for output, reduction in MODES:
            metric = PerceiveIRQuality(perceiver, output=output, reduction=reduction)
            for part in shard.split(2):
                metric.update(part)
            results[f"{output}-{reduction}"] = metric.compute()
        torch.save(results, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
