"""The end-to-end demo behind ``perceive-ir demo``: both stages of Perceive-IR on real photographs.

On the photographs that ship with scikit-image, :func:`run_demo`

1. cuts scenes from fixed train / test photographs and synthesises the 3-task degradations
   (noise σ 25, rain, haze) with fixed seeds, written as paired folders;
2. builds the medium tier with the paper's 2-fold cross-fitting (``build_triplets``);
3. trains the quality perceiver's prompts on the (low, medium, high) triplets (stage 1);
4. trains the ``nafnet-small`` preset's backbone bare with L1, and the same backbone wrapped
   (CFE + semantic guidance) with :class:`~perceive_ir.QualityAwareLoss`, on the same data,
   steps and seed (stage 2);
5. evaluates both on the held-out scenes (PSNR/SSIM per task with torchmetrics, whole image)
   and writes a report folder (:mod:`perceive_ir.demo_report`).

Without network access CLIP and DINOv2 are tiny *random* models built from configs: the
pipeline runs end to end, but the perceiver and the semantic guidance carry no pretrained
knowledge, and the report says so at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["DemoSettings", "run_demo", "DEMO_TASKS", "TRAIN_PHOTOS", "TEST_PHOTOS"]

#: Task → degradation preset of the 3-task setting (DESIGN §5; rain and haze are synthetic stand-ins).
DEMO_TASKS: dict[str, str] = {"denoise": "noise25", "derain": "rain", "dehaze": "haze"}
#: Photographs for training and for testing (disjoint).
TRAIN_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "rocket", "motorcycle")
TEST_PHOTOS: tuple[str, ...] = ("chelsea", "immunohistochemistry")


@dataclass
class DemoSettings:
    """Budget and models of the demo (defaults finish in minutes on 2 CPU cores).

    Attributes:
        out_dir: Report folder; the work data go to ``out_dir / "work"``.
        scene_size: Side of the square scenes cut from the photographs.
        scenes_per_photo: Train scenes per photograph (test: 2 per photograph).
        crop: Training crop side.
        steps: Stage-2 optimizer steps, the same for both models.
        batch_size: Stage-2 batch.
        perceiver_steps: Stage-1 prompt-learning steps.
        crossfit_steps: Training steps of each cross-fit restorer (medium tier).
        lr: Stage-2 learning rate.
        seed: Seed of everything.
        clip_model: open_clip model name or id; ``None``: tiny random CLIP (offline).
        clip_pretrained: open_clip pretrained tag.
        semantic_encoder: DINOv2 Hub id; ``None``: tiny random DINOv2 (offline).
        progress: tqdm bars.
    """

    out_dir: str = "reports/demo"
    scene_size: int = 96
    scenes_per_photo: int = 6
    crop: int = 64
    steps: int = 400
    batch_size: int = 8
    perceiver_steps: int = 150
    crossfit_steps: int = 150
    lr: float = 1e-3
    seed: int = 0
    clip_model: str | None = None
    clip_pretrained: str | None = None
    semantic_encoder: str | None = None
    progress: bool = True

    @property
    def offline(self) -> bool:
        """Whether tiny random encoders stand in for CLIP and DINOv2."""
        return self.clip_model is None or self.semantic_encoder is None


def _write_scenes(root: Path, settings: DemoSettings) -> dict[str, dict[str, Path]]:
    """Paired folders ``root/{task}/{split}/{lq,gt}`` from the sample photographs."""
    from .data import get_degradation, paired_random_crop, sample_images
    from .data.io import save_png

    photos = sample_images(TRAIN_PHOTOS + TEST_PHOTOS)
    folders: dict[str, dict[str, Path]] = {}
    for split, names, per_photo in (("train", TRAIN_PHOTOS, settings.scenes_per_photo), ("test", TEST_PHOTOS, 2)):
        g = torch.Generator().manual_seed(settings.seed + (0 if split == "train" else 1))
        for task, preset in DEMO_TASKS.items():
            degradation = get_degradation(preset)
            lq, gt = root / task / split / "lq", root / task / split / "gt"
            folders.setdefault(task, {})[split] = lq.parent
            for name in names:
                for k in range(per_photo):
                    (clean,) = paired_random_crop([photos[name]], settings.scene_size, generator=g)
                    scene = f"{task}-{name}-{k}"
                    if not (gt / f"{scene}.png").is_file():
                        seed = settings.seed * 1_000_003 + hash_name(f"{task}/{split}/{scene}")
                        save_png(degradation(clean, seed=seed), lq / f"{scene}.png")
                        save_png(clean, gt / f"{scene}.png")
    return folders


def hash_name(name: str) -> int:
    """A stable 31-bit integer from a name (Python's ``hash`` changes between runs)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little") >> 1


def _perceiver_factory(settings: DemoSettings):
    from .perceiver import QualityPerceiver
    from .testing import tiny_clip_config

    if settings.clip_model is None:
        return lambda: QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None)
    return lambda: QualityPerceiver(clip_model=settings.clip_model, clip_pretrained=settings.clip_pretrained)


def _models(settings: DemoSettings) -> tuple[nn.Module, nn.Module]:
    """The bare backbone and the same backbone (same initial weights) wrapped."""
    from .models import build_model
    from .testing import tiny_dinov2_config

    encoder = settings.semantic_encoder or tiny_dinov2_config()
    torch.manual_seed(settings.seed)
    wrapped = build_model("nafnet-small", semantic_encoder=encoder)
    torch.manual_seed(settings.seed)
    bare = build_model("nafnet-small", semantic_encoder=None).backbone
    bare.load_state_dict(wrapped.backbone.state_dict())
    return bare, wrapped


@torch.no_grad()
def _evaluate(model: nn.Module, datasets: dict[str, Any], multiple: int) -> dict[str, dict[str, float]]:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from .restore import restore

    results = {}
    for task, dataset in datasets.items():
        psnr, ssim, psnr_in = [], [], []
        for i in range(len(dataset)):
            sample = dataset[i]
            degraded, clean = sample["degraded"][None], sample["clean"][None]
            restored = restore(model, degraded, multiple=multiple).clamp(0, 1)
            psnr.append(float(peak_signal_noise_ratio(restored, clean, data_range=1.0)))
            ssim.append(float(structural_similarity_index_measure(restored, clean, data_range=1.0)))
            psnr_in.append(float(peak_signal_noise_ratio(degraded, clean, data_range=1.0)))
        results[task] = {"psnr": sum(psnr) / len(psnr), "ssim": sum(ssim) / len(ssim),
                         "psnr_input": sum(psnr_in) / len(psnr_in), "images": len(psnr)}
    return results


def run_demo(settings: DemoSettings) -> Path:
    """Run the whole demo and return the report folder.

    Example:
        >>> import tempfile
        >>> folder = run_demo(DemoSettings(out_dir=tempfile.mkdtemp(), scenes_per_photo=1, steps=1,
        ...     perceiver_steps=1, crossfit_steps=1, scene_size=64, crop=32, progress=False))  # doctest: +SKIP
    """
    from torch.utils.data import ConcatDataset

    from .data import PairedFolderDataset, build_triplets
    from .demo_report import write_report
    from .losses import QualityAwareLoss
    from .perceiver import QualityPerceiver
    from .training import PerceiverTrainer, RestorationTrainer, TrainConfig

    out = Path(settings.out_dir)
    work = out / "work"
    folders = _write_scenes(work / "data", settings)

    def paired(task: str, split: str, crop: int | None) -> PairedFolderDataset:
        base = folders[task][split]
        return PairedFolderDataset(base / "lq", base / "gt", task=task, crop=crop, hflip=crop is not None,
                                   seed=settings.seed if crop is not None else None)

    # stage 1: the medium tier by 2-fold cross-fitting, then the perceiver prompts
    scenes = ConcatDataset([paired(task, "train", None) for task in DEMO_TASKS])
    manifest = build_triplets(scenes, work / "triplets", strategy="crossfit", steps=settings.crossfit_steps,
                              crop=min(settings.crop, settings.scene_size), seed=settings.seed,
                              progress=settings.progress)
    stage1 = TrainConfig(output_dir=str(work / "perceiver-run"), batch_size=8, max_steps=settings.perceiver_steps,
                         lr=2e-3, seed=settings.seed, log_every=10, checkpoint_every=max(settings.perceiver_steps, 1),
                         keep_checkpoints=1, progress=settings.progress, cpu=not torch.cuda.is_available())
    PerceiverTrainer(_perceiver_factory(settings), manifest, stage1, crop=settings.crop).train()
    perceiver = QualityPerceiver.from_pretrained(work / "perceiver-run" / "perceiver")

    # stage 2: bare with L1 against wrapped with the quality-aware loss, same budget
    bare, wrapped = _models(settings)
    train_sets = [paired(task, "train", settings.crop) for task in DEMO_TASKS]
    runs = {}
    for name, model, loss in (("bare_l1", bare, "l1"), ("wrapped_quality_aware", wrapped, QualityAwareLoss(perceiver))):
        config = TrainConfig(output_dir=str(work / name), batch_size=settings.batch_size, max_steps=settings.steps,
                             lr=settings.lr, warmup_steps=max(1, settings.steps // 20), seed=settings.seed,
                             log_every=max(1, settings.steps // 50), checkpoint_every=max(settings.steps, 1),
                             keep_checkpoints=1, progress=settings.progress, cpu=not torch.cuda.is_available())
        RestorationTrainer(model, train_sets, config, loss=loss).train()
        runs[name] = work / name / "metrics.csv"

    test_sets = {task: paired(task, "test", None) for task in DEMO_TASKS}
    multiple = int(getattr(wrapped, "pad_to", None) or 1)
    results = {"bare_l1": _evaluate(bare, test_sets, multiple), "wrapped_quality_aware": _evaluate(wrapped, test_sets, multiple)}
    write_report(out, settings=settings, results=results, curves=runs, perceiver=perceiver, test_sets=test_sets,
                 models={"bare (L1)": bare, "wrapped (quality-aware)": wrapped}, manifest=manifest,
                 hooked_layers=list(wrapped.hooked_layers), multiple=multiple)
    return out

