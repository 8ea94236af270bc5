"""The end-to-end demo behind ``perceive-ir demo``: both stages of Perceive-IR on real photographs.

On the photographs that ship with scikit-image, :func:`run_demo`

1. cuts scenes from fixed train / test photographs and synthesises the 3-task degradations
   (noise σ 25, rain, haze) with fixed seeds, written as paired folders;
2. builds the medium tier with the paper's 2-fold cross-fitting (``build_triplets``);
3. trains the quality perceiver's prompts on the (low, medium, high) triplets (stage 1) and
   measures its tier accuracy on triplets of the held-out scenes;
4. trains the ``nafnet-small`` preset's backbone bare with L1, and the same backbone wrapped
   (CFE + semantic guidance) with :class:`~perceive_ir.QualityAwareLoss`, on the same data,
   steps and seed (stage 2), both starting at the identity;
5. evaluates both on the held-out scenes (PSNR/SSIM per task with torchmetrics, whole image)
   and writes a report folder (:mod:`perceive_ir.apps.demo_report`) with the wall time, and the
   trained networks and perceiver (:mod:`perceive_ir.apps.demo_models`), which ``perceive-ir app``
   offers on its web page.

Without network access CLIP and DINOv2 are tiny *random* models built from configs: the
pipeline runs end to end, but the perceiver and the semantic guidance carry no pretrained
knowledge, and the report says so at the top.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._seeding import stable_seed
from ..data import (
    PairedFolderDataset,
    TripletDataset,
    get_degradation,
    paired_random_crop,
    sample_images,
)
from ..data.io import save_png
from ..inference.restore import restore
from ..models import create_model, load_model, load_official
from ..perceive.losses import QualityAwareLoss, VGG16FeatureSpace, VGG16WeightsNotFoundError
from ..perceive.perceiver import QualityPerceiver
from ..retrofit.wrap import WrappedBackbone
from ..testing import tiny_clip_config, tiny_dinov2_config
from ..training import (
    PerceiverTrainer,
    RestorationTrainer,
    TrainConfig,
    build_triplets,
    crossfit_proxies,
    load_crossfit_restorers,
)
from .demo_models import save_demo_models
from .demo_report import DemoReportInputs, write_report
from .demo_settings import DEMO_TASKS, TEST_PHOTOS, TRAIN_PHOTOS, DemoSettings

__all__ = ["DemoWorkspace", "run_demo"]

_TIERS = ("low", "medium", "high")

def _write_scenes(root: Path, settings: DemoSettings) -> dict[str, dict[str, Path]]:
    """Paired folders ``root/{task}/{split}/{lq,gt}`` from the sample photographs."""
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
                        seed = stable_seed(settings.seed, task, split, scene)
                        save_png(degradation(clean, seed=seed), lq / f"{scene}.png")
                        save_png(clean, gt / f"{scene}.png")
    return folders


def _perceiver_factory(settings: DemoSettings) -> Callable[[], QualityPerceiver]:
    clip_model = settings.clip_model
    if clip_model is None:
        return lambda: QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None)
    return lambda: QualityPerceiver(clip_model=clip_model, clip_pretrained=settings.clip_pretrained)


def _start_at_identity(net: nn.Module) -> None:
    """Zero NAFNet's last convolution: with its global residual the network starts as the identity.

    A random last layer adds a random image to the input, which the demo's short budget spends
    most of its steps undoing; from the identity every step can only refine the input.
    """
    ending = net.ending
    assert isinstance(ending, nn.Conv2d) and ending.bias is not None  # NAFNet's last convolution
    nn.init.zeros_(ending.weight)
    nn.init.zeros_(ending.bias)


def _ssim(image: torch.Tensor, reference: torch.Tensor) -> float:
    from torchmetrics.functional.image import structural_similarity_index_measure

    value = structural_similarity_index_measure(image, reference, data_range=1.0)
    assert isinstance(value, torch.Tensor)  # a tensor unless return_full_image=True
    return float(value)


class DemoWorkspace:
    """The demo's data and steps, reusable one by one (the ablation benchmark runs them per seed).

    Args:
        settings: Budget and models.
        work: Folder for the scenes, triplets and training runs (default ``out_dir / "work"``).
    """

    def __init__(self, settings: DemoSettings, work: Path | None = None) -> None:
        self.settings = settings
        self.work = Path(work) if work is not None else Path(settings.out_dir) / "work"
        self.folders = _write_scenes(self.work / "data", settings)
        self._crossfit_restorers: list[nn.Module] | None = None
        self._input_quality: dict[str, tuple[float, float]] = {}  # per task: the test inputs' mean PSNR, SSIM

    def crossfit_restorers(self) -> list[nn.Module]:
        """The two restorers of :meth:`train_perceiver`'s cross-fit build, loaded once and shared."""
        if self._crossfit_restorers is None:
            self._crossfit_restorers = load_crossfit_restorers(self.manifest)
        return self._crossfit_restorers

    def paired(self, task: str, split: str, crop: int | None) -> Any:
        """The paired-folder dataset of one task and split (random aligned crops when ``crop``)."""
        base = self.folders[task][split]
        return PairedFolderDataset(base / "lq", base / "gt", task=task, crop=crop, hflip=crop is not None,
                                   seed=self.settings.seed if crop is not None else None)

    def _config(self, name: str, steps: int, batch_size: int, lr: float, seed: int, warmup: int,
                grad_clip: float | None = None) -> Any:

        return TrainConfig(output_dir=str(self.work / name), batch_size=batch_size, max_steps=steps, lr=lr,
                           warmup_steps=warmup, seed=seed, log_every=max(1, steps // 50), grad_clip=grad_clip,
                           checkpoint_every=max(steps, 1), keep_checkpoints=1, progress=self.settings.progress,
                           cpu=not torch.cuda.is_available())

    def train_perceiver(self) -> Any:
        """Stage 1: the medium tier by 2-fold cross-fitting, then the tier prompts."""
        from torch.utils.data import ConcatDataset


        s = self.settings
        scenes: ConcatDataset[Any] = ConcatDataset([self.paired(task, "train", None) for task in DEMO_TASKS])
        self._crossfit_restorers = None  # a new build: its restorers load anew
        self.manifest = build_triplets(scenes, self.work / "triplets", strategy="crossfit", steps=s.crossfit_steps,
                                       crop=min(s.crop, s.scene_size), batch_size=8, lr=1e-3,
                                       restorer_factory=s.crossfit_restorer, seed=s.seed, progress=s.progress,
                                       # equal scene counts per task: no resampling; folds from the paths
                                       # inside the work folder, so they do not depend on where it is
                                       task_resampling=None,
                                       fold_path=lambda p: Path(p).relative_to(self.work).as_posix())
        config = self._config("perceiver-run", s.perceiver_steps, 8, 2e-3, s.seed, 0)
        PerceiverTrainer(_perceiver_factory(s), self.manifest, config, crop=s.crop).train()
        return QualityPerceiver.from_pretrained(self.work / "perceiver-run" / "perceiver")

    def quality_loss(self, perceiver: QualityPerceiver) -> tuple[QualityAwareLoss, str]:
        """The quality-aware loss with the two cross-fit restorers as proxies, and a line saying what it is."""
        space: Any = self.settings.feature_space
        if space is None:
            try:
                space = VGG16FeatureSpace()
                what = "the paper's ImageNet VGG-16"
            except VGG16WeightsNotFoundError:
                space, what = "clip", "the perceiver's CLIP tower (the ImageNet VGG-16 weights are not on this machine)"
        else:
            what = str(space)
        loss = QualityAwareLoss(perceiver, feature_space=space, proxies=crossfit_proxies(self.crossfit_restorers()))
        return loss, (f"Quality-aware loss: paper weights, L_dpl in {what}, the two cross-fit restorers as proxies "
                      "with the per-epoch probe-PSNR difficulty rule.")

    def held_out_tier_accuracy(self, perceiver: QualityPerceiver) -> dict[str, float]:
        """Stage-1 accuracy on triplets of the *test* scenes (chance: 1/3).

        Their medium tier is rendered by the first cross-fit restorer, trained on training
        scenes only, so no image of these triplets was seen by the restorer or the perceiver.
        """
        from torch.utils.data import ConcatDataset

        scenes: ConcatDataset[Any] = ConcatDataset([self.paired(task, "test", None) for task in DEMO_TASKS])
        restorer = self.crossfit_restorers()[0].cpu()  # back from the device a training moved it to
        manifest = build_triplets(scenes, self.work / "test-triplets", strategy="model", model=restorer,
                                  seed=self.settings.seed, progress=False)
        triplets = TripletDataset(manifest, crop=None, hflip=False)
        correct = {tier: 0 for tier in _TIERS}
        with torch.no_grad():
            for i in range(len(triplets)):
                sample = triplets[i]
                picks = perceiver.probabilities(torch.stack([sample[t] for t in _TIERS])).argmax(dim=-1).tolist()
                for k, tier in enumerate(_TIERS):
                    correct[tier] += int(picks[k] == k)
        n = len(triplets)
        return {"accuracy": sum(correct.values()) / (3 * n), "chance": 1 / 3, "triplets": n,
                **{f"{tier}_recall": correct[tier] / n for tier in _TIERS}}

    def models(self, seed: int) -> tuple[nn.Module, WrappedBackbone]:
        """The bare ``nafnet-small`` backbone and the same backbone (same initial weights) wrapped."""
        encoder = self.settings.semantic_encoder or tiny_dinov2_config()
        torch.manual_seed(seed)
        wrapped = create_model("nafnet-small", semantic_encoder=encoder)
        assert isinstance(wrapped, WrappedBackbone)  # the preset wraps its backbone
        _start_at_identity(wrapped.backbone)
        bare = create_model("nafnet-small", wrap=False)
        bare.load_state_dict(wrapped.backbone.state_dict())
        self.multiple = int(wrapped.multiple or 1)  # evaluate both on the same padded pixels
        return bare, wrapped

    def train(self, name: str, model: nn.Module, loss: Any, seed: int) -> Path:
        """Stage 2 on the three tasks; returns the run's ``metrics.csv``."""
        s = self.settings
        train_sets = [self.paired(task, "train", s.crop) for task in DEMO_TASKS]
        config = self._config(name, s.steps, s.batch_size, s.lr, seed, max(1, s.steps // 20), s.grad_clip)
        RestorationTrainer(model, train_sets, config, loss=loss, repeats=s.task_repeats).train()
        return self.work / name / "metrics.csv"

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, dict[str, float]]:
        """Mean PSNR/SSIM per task on the test scenes (whole images, padded to the model's multiple)."""
        from torchmetrics.functional.image import peak_signal_noise_ratio


        results = {}
        for task in DEMO_TASKS:
            dataset = self.paired(task, "test", None)
            known = self._input_quality.get(task)  # the inputs are the same for every model: measured once
            psnr, ssim, psnr_in, ssim_in = [], [], [], []
            for i in range(len(dataset)):
                sample = dataset[i]
                degraded, clean = sample["degraded"][None], sample["clean"][None]
                restored = restore(model, degraded, multiple=self.multiple).clamp(0, 1)
                psnr.append(float(peak_signal_noise_ratio(restored, clean, data_range=1.0)))
                ssim.append(_ssim(restored, clean))
                if known is None:
                    psnr_in.append(float(peak_signal_noise_ratio(degraded, clean, data_range=1.0)))
                    ssim_in.append(_ssim(degraded, clean))
            n = len(psnr)
            if known is None:
                known = self._input_quality[task] = (sum(psnr_in) / n, sum(ssim_in) / n)
            results[task] = {"psnr": sum(psnr) / n, "ssim": sum(ssim) / n, "psnr_input": known[0],
                             "ssim_input": known[1], "images": n}
        return results

    #: Padding multiple used to evaluate every model (set by :meth:`models`).
    multiple: int = 1


def run_demo(settings: DemoSettings) -> Path:
    """Run the whole demo and return the report folder.

    Example:
        >>> import tempfile
        >>> folder = run_demo(DemoSettings(out_dir=tempfile.mkdtemp(), scenes_per_photo=1, steps=1,
        ...     perceiver_steps=1, crossfit_steps=1, scene_size=64, crop=32, progress=False))  # doctest: +SKIP
    """
    start = time.perf_counter()
    out = Path(settings.out_dir)
    workspace = DemoWorkspace(settings)
    perceiver = workspace.train_perceiver()
    tier_accuracy = workspace.held_out_tier_accuracy(perceiver)
    bare, wrapped = workspace.models(settings.seed)
    quality_loss, loss_note = workspace.quality_loss(perceiver)
    curves = {
        "bare_l1": workspace.train("bare_l1", bare, "l1", settings.seed),
        "wrapped_quality_aware": workspace.train("wrapped_quality_aware", wrapped, quality_loss, settings.seed),
    }
    results = {"bare_l1": workspace.evaluate(bare), "wrapped_quality_aware": workspace.evaluate(wrapped)}
    models: dict[str, nn.Module] = {"bare (L1)": bare, "wrapped (quality-aware)": wrapped}
    official_accuracy = None
    if settings.official_restorer is not None:
        authors = _official_restorer(settings)
        results["authors_restorer"] = workspace.evaluate(authors)
        models["authors' restorer"] = authors
    if settings.official_prompts is not None:
        authors_perceiver = QualityPerceiver.from_official(
            settings.official_prompts, clip_model=settings.official_clip_model,
            clip_pretrained=settings.official_clip_pretrained,
        )
        official_accuracy = workspace.held_out_tier_accuracy(authors_perceiver)
    saved = save_demo_models(out, bare=bare, wrapped=wrapped, perceiver=perceiver)
    test_sets = {task: workspace.paired(task, "test", None) for task in DEMO_TASKS}
    write_report(out, DemoReportInputs(
        settings=settings, results=results, curves=curves, perceiver=perceiver, test_sets=test_sets, models=models,
        manifest=workspace.manifest, hooked_layers=list(wrapped.hooked_layers), multiple=workspace.multiple,
        loss_note=loss_note, tier_accuracy=tier_accuracy, official_tier_accuracy=official_accuracy, saved=saved,
        seconds=time.perf_counter() - start,
    ))
    return out


def _official_restorer(settings: DemoSettings) -> nn.Module:
    """The authors' restorer: their ``.pth`` file, or a folder converted from it."""
    source = Path(settings.official_restorer)  # type: ignore[arg-type]
    if source.is_dir():
        return load_model(source).module
    return load_official(source, kind="restorer", semantic_encoder=settings.official_semantic_encoder)
