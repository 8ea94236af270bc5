"""What the demo runs on and with: its tasks, photographs and budget (:class:`DemoSettings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, DEFAULT_SEMANTIC_ENCODER
from .._validation import check_float, check_int
from ..errors import InvalidValueError

__all__ = ["DEMO_TASKS", "TEST_PHOTOS", "TRAIN_PHOTOS", "DemoSettings"]

#: Task → degradation preset of the paper's 3-task setting (rain and haze are synthetic stand-ins).
DEMO_TASKS: dict[str, str] = {"denoise": "noise25", "derain": "rain", "dehaze": "haze"}
#: Photographs for training and for testing (disjoint). The bright, low-contrast microscopy
#: image trains (a network that never saw one "dehazes" it); the test photographs are natural scenes.
TRAIN_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
TEST_PHOTOS: tuple[str, ...] = ("chelsea", "motorcycle")


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
        crossfit_restorer: The cross-fit restorer (``perceive_ir.models.MEDIUM_RESTORERS``):
            ``tiny`` by default so the demo stays minutes on a CPU; the paper's is ``restormer-medium``.
        feature_space: Feature space of ``L_dpl``; ``None``: the paper's ``vgg16`` when its
            ImageNet weights are on this machine, else ``clip`` (the report says which).
        lr: Stage-2 learning rate.
        grad_clip: Stage-2 gradient-norm clip (``None``: off).
        task_repeats: Stage-2 task-balancing factors. Denoising counts twice: its errors are
            small in L1 beside haze and rain, so the network would learn it last. Dehazing counts
            twice: it is the hardest of the three (up to 3× contrast to restore).
        seed: Seed of everything.
        clip_model: open_clip model name or id; ``None``: tiny random CLIP (offline).
        clip_pretrained: open_clip pretrained tag.
        semantic_encoder: DINOv2 Hub id; ``None``: tiny random DINOv2 (offline).
        official_prompts: The Perceive-IR authors' stage-1 prompt checkpoint
            (``quality_prompts_100000.pth``); its held-out tier accuracy is reported too.
        official_restorer: The authors' stage-2 restorer (``perceiveIR_3task.pth``) or a folder
            converted from it; it is evaluated beside the two trained models.
        official_clip_model: CLIP of ``official_prompts`` (the authors': ``ViT-B-32``; an
            open_clip name or config dict).
        official_clip_pretrained: Its weights (``openai``, or a local file with a config dict).
        official_semantic_encoder: DINOv2 of ``official_restorer`` (the authors':
            ``facebook/dinov2-base``; a Hub id or local folder).
        progress: tqdm bars.
    """

    out_dir: str = "reports/demo"
    scene_size: int = 96
    scenes_per_photo: int = 12
    crop: int = 64
    steps: int = 1000
    batch_size: int = 8
    perceiver_steps: int = 150
    crossfit_steps: int = 150
    crossfit_restorer: str = "tiny"
    feature_space: str | None = None
    lr: float = 2e-3
    grad_clip: float | None = 1.0
    task_repeats: dict[str, int] = field(default_factory=lambda: {"denoise": 2, "derain": 1, "dehaze": 2})
    seed: int = 0
    clip_model: str | None = None
    clip_pretrained: str | None = None
    semantic_encoder: str | None = None
    official_prompts: str | None = None
    official_restorer: str | None = None
    official_clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL
    official_clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED
    official_semantic_encoder: str = DEFAULT_SEMANTIC_ENCODER
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("scene_size", "scenes_per_photo", "crop", "steps", "batch_size", "perceiver_steps",
                     "crossfit_steps"):
            check_int(getattr(self, name), name)
        check_int(self.seed, "seed", minimum=0)
        check_float(self.lr, "lr", minimum=0, exclusive=True)
        for name in ("official_prompts", "official_restorer"):
            path = getattr(self, name)
            if path is not None and not Path(path).exists():
                raise InvalidValueError(
                    f"`{name}` {path} does not exist (expected the authors' file or a converted folder)."
                )
        if self.crop > self.scene_size:
            raise InvalidValueError(f"`crop` ({self.crop}) must not exceed `scene_size` ({self.scene_size}).")

    @property
    def offline(self) -> bool:
        """Whether tiny random encoders stand in for CLIP and DINOv2."""
        return self.clip_model is None or self.semantic_encoder is None
