"""Training recipes: stage-1 perceiver prompts and stage-2 quality-aware restoration, on Accelerate.

Needs ``accelerate`` (the ``train`` extra: ``pip install perceive-ir[train]``).
"""

from .callbacks import Callback, TreeGrowthCallback
from .checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from .loop import Trainer, build_accelerator
from .metrics_log import MetricsLog
from .restoration import RestorationTrainer, find_cfe, two_views
from .schedule import WarmupCosine, warmup_cosine
from .settings import TrainConfig

__all__ = [
    "Callback",
    "MetricsLog",
    "RestorationTrainer",
    "TrainConfig",
    "Trainer",
    "TreeGrowthCallback",
    "WarmupCosine",
    "build_accelerator",
    "find_cfe",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "save_checkpoint",
    "two_views",
    "warmup_cosine",
]
