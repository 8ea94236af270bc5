"""What the demo runs on and with: its tasks, photographs and budget (:class:`DemoSettings`)."""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import check_float, check_int

__all__ = ["DEMO_TASKS", "TEST_PHOTOS", "TRAIN_PHOTOS", "DemoSettings"]

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
        crossfit_restorer: The cross-fit restorer (``perceive_ir.data.restorer.MEDIUM_RESTORERS``):
            ``tiny`` by default so the demo stays minutes on a CPU; the paper's is ``restormer``.
        feature_space: Feature space of ``L_dpl``; ``None``: the paper's ``vgg16`` when its
            ImageNet weights are on this machine, else ``clip`` (the report says which).
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
    crossfit_restorer: str = "tiny"
    feature_space: str | None = None
    lr: float = 1e-3
    seed: int = 0
    clip_model: str | None = None
    clip_pretrained: str | None = None
    semantic_encoder: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("scene_size", "scenes_per_photo", "crop", "steps", "batch_size", "perceiver_steps",
                     "crossfit_steps"):
            check_int(getattr(self, name), name)
        check_int(self.seed, "seed", minimum=0)
        check_float(self.lr, "lr", minimum=0, exclusive=True)
        if self.crop > self.scene_size:
            raise ValueError(f"`crop` ({self.crop}) must not exceed `scene_size` ({self.scene_size}).")

    @property
    def offline(self) -> bool:
        """Whether tiny random encoders stand in for CLIP and DINOv2."""
        return self.clip_model is None or self.semantic_encoder is None
