"""Training recipes: stage-1 triplets and perceiver prompts, stage-2 quality-aware restoration, on Accelerate.

Needs ``accelerate`` (the ``train`` extra: ``pip install perceive-ir[train]``) to train.

The stage-1 triplet build (:func:`build_triplets`) makes the medium tier with a strategy named
in :data:`TRIPLET_STRATEGIES`. Register your own from user code: a factory
``factory(build) -> TripletRenderer`` (a :class:`TripletRenderer` subclass implementing
``medium(scene, low, high)`` is one), then name it::

    TRIPLET_STRATEGIES.register("halfway", Halfway)
    build_triplets(dataset, "triplets", strategy="halfway")
"""

from .callbacks import TreeGrowthCallback
from .checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from .config import TrainConfig
from .crossfit_restorers import crossfit_proxies, load_crossfit_restorers
from .loop import Callback, Trainer, build_accelerator, resolve_model
from .metrics_log import MetricsLog
from .perceiver import PerceiverTrainer, balanced_repeats, split_by_task
from .probe import probe_set
from .restoration import RestorationTrainer, find_cfe, two_views
from .schedule import WarmupCosine, warmup_cosine
from .triplet_build import TripletBuild, TripletRenderer
from .triplet_strategies import TRIPLET_STRATEGIES
from .triplets import build_triplets

__all__ = [
    "Callback",
    "MetricsLog",
    "PerceiverTrainer",
    "RestorationTrainer",
    "TRIPLET_STRATEGIES",
    "TrainConfig",
    "Trainer",
    "TreeGrowthCallback",
    "TripletBuild",
    "TripletRenderer",
    "WarmupCosine",
    "balanced_repeats",
    "build_accelerator",
    "build_triplets",
    "crossfit_proxies",
    "find_cfe",
    "latest_checkpoint",
    "list_checkpoints",
    "load_crossfit_restorers",
    "load_checkpoint",
    "probe_set",
    "resolve_model",
    "save_checkpoint",
    "split_by_task",
    "two_views",
    "warmup_cosine",
]
