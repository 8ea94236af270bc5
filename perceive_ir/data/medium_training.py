"""Deprecated: the medium restorers' training moved to :mod:`perceive_ir.training.medium_training`.

The old names keep working for one release, each with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from .._moved import moved_names

__all__: list[str] = []

__getattr__ = moved_names(__name__, {
    name: "perceive_ir.training.medium_training"
    for name in ("AUTHORS_TASK_RESAMPLING", "Precision", "autocast_context", "check_task_resampling", "epoch_order",
                 "medium_optimizer", "random_crop_pair", "train_medium_restorer", "uses_bf16")
})
