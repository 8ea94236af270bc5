"""Data for all-in-one restoration: degradations, datasets, samplers, quality triplets.

Everything returns float images in ``[0, 1]`` (``3×H×W`` per sample). Samples of the
datasets are dicts ``{"degraded", "clean", "task", "name"}`` with an integer task id.

A new dataset layout is registered from user code in :data:`LAYOUTS`
(``LAYOUTS.register(layout.name, layout)``, a :class:`DatasetLayout`); the file-list command
and :func:`scan_dataset` then find it by name.

The stage-1 triplet *build* and the medium restorers moved above ``data``:
``build_triplets``, ``crossfit_proxies`` and ``load_crossfit_restorers`` to
:mod:`perceive_ir.training`, ``MEDIUM_RESTORERS``, ``TinyRestorer`` and ``PaddedRestorer`` to
:mod:`perceive_ir.models`. Their old names here keep working for one release with a
``DeprecationWarning``.
"""

from .._moved import moved_names
from .datasets import FileListDataset
from .degradations import (
    JPEG,
    PRESETS,
    Compose,
    Degradation,
    GaussianBlur,
    GaussianNoise,
    Haze,
    LowLight,
    MotionBlur,
    Rain,
    get_degradation,
    list_degradations,
    register_degradation,
)
from .draws import KeyedDataset, ReadKey, read_keyed
from .filelists import read_filelist, scan_dataset, write_filelist
from .io import ImageFile, ImageReadError, list_images, read_image, read_image_file, save_image, save_png
from .layouts import LAYOUTS, DatasetLayout, get_layout
from .paired import POSITIVE_KEY, PairedFolderDataset, PairedImageDataset, PairItem, match_pairs
from .sampler import PAPER_REPEATS, TaskBalancedSampler, TaskQuotaSampler
from .samples import SAMPLE_IMAGE_NAMES, sample_images
from .stage1_scenes import scene_fold
from .tasks import TASK_IDS, TASKS, task_id, task_name
from .transforms import PairedAugment, paired_random_crop, paired_random_flip, upscale_to_cover
from .triplet_dataset import TripletDataset
from .triplet_manifest import load_manifest

__all__ = [
    # degradations
    "Degradation",
    "Compose",
    "GaussianNoise",
    "Rain",
    "Haze",
    "GaussianBlur",
    "MotionBlur",
    "LowLight",
    "JPEG",
    "PRESETS",
    "get_degradation",
    "register_degradation",
    "list_degradations",
    # images
    "read_image",
    "read_image_file",
    "ImageFile",
    "save_image",
    "save_png",
    "list_images",
    "ImageReadError",
    "sample_images",
    "SAMPLE_IMAGE_NAMES",
    # tasks and datasets
    "TASKS",
    "TASK_IDS",
    "task_id",
    "task_name",
    "PairItem",
    "PairedImageDataset",
    "PairedFolderDataset",
    "match_pairs",
    "POSITIVE_KEY",
    "FileListDataset",
    "DatasetLayout",
    "LAYOUTS",
    "get_layout",
    "scan_dataset",
    "write_filelist",
    "read_filelist",
    "PairedAugment",
    "paired_random_crop",
    "paired_random_flip",
    "upscale_to_cover",
    "TaskBalancedSampler",
    "TaskQuotaSampler",
    "PAPER_REPEATS",
    # per-read random draws
    "ReadKey",
    "KeyedDataset",
    "read_keyed",
    # triplets
    "TripletDataset",
    "scene_fold",
    "load_manifest",
]

__getattr__ = moved_names(__name__, {
    "build_triplets": "perceive_ir.training.triplets",
    "crossfit_proxies": "perceive_ir.training.crossfit_restorers",
    "load_crossfit_restorers": "perceive_ir.training.crossfit_restorers",
    "MEDIUM_RESTORERS": "perceive_ir.models.medium_restorers",
    "PaddedRestorer": "perceive_ir.models.padded_restorer",
    "TinyRestorer": "perceive_ir.models.tiny_restorer",
})
