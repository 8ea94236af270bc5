"""Training recipes: stage-1 perceiver prompts and stage-2 quality-aware restoration, on Accelerate.

Needs ``accelerate`` (the ``train`` extra: ``pip install perceive-ir[train]``).
"""

from .callbacks import TreeGrowthCallback
from .checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from .config import TrainConfig
from .loop import Callback, Trainer, build_accelerator, resolve_model
from .metrics_log import MetricsLog
from .perceiver import PerceiverTrainer, balanced_repeats, split_by_task
from .probe import probe_set
from .restoration import RestorationTrainer, find_cfe, two_views
from .schedule import WarmupCosine, warmup_cosine

__all__ = [
    "Callback",
    "MetricsLog",
    "PerceiverTrainer",
    "RestorationTrainer",
    "TrainConfig",
    "Trainer",
    "TreeGrowthCallback",
    "WarmupCosine",
    "balanced_repeats",
    "build_accelerator",
    "find_cfe",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "probe_set",
    "resolve_model",
    "save_checkpoint",
    "split_by_task",
    "two_views",
    "warmup_cosine",
]
