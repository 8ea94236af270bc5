"""Data for all-in-one restoration: degradations, datasets, samplers, quality triplets.

Everything returns float images in ``[0, 1]`` (``3×H×W`` per sample). Samples of the
datasets are dicts ``{"degraded", "clean", "task", "name"}`` with an integer task id.
"""

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
from .restorer import MEDIUM_RESTORERS, PaddedRestorer, TinyRestorer
from .sampler import PAPER_REPEATS, TaskBalancedSampler, TaskQuotaSampler
from .samples import SAMPLE_IMAGE_NAMES, sample_images
from .tasks import TASK_IDS, TASKS, task_id, task_name
from .transforms import PairedAugment, paired_random_crop, paired_random_flip, upscale_to_cover
from .triplet_dataset import TripletDataset
from .triplets import build_triplets, crossfit_proxies, load_crossfit_restorers, load_manifest, scene_fold

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
    "MEDIUM_RESTORERS",
    "PaddedRestorer",
    "TinyRestorer",
    "build_triplets",
    "crossfit_proxies",
    "load_crossfit_restorers",
    "TripletDataset",
    "scene_fold",
    "load_manifest",
]
