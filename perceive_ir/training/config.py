"""Typed, strict recipe configuration: one dataclass per section, built in one place.

A recipe (YAML + ``key=value`` overrides, :func:`~perceive_ir.training.config_files.load_config`)
becomes a :class:`RestorationRecipe` (stage 2: ``model``, ``loss``, ``data``, ``train``,
``tree``) or a :class:`PerceiverRecipe` (stage 1: ``perceiver``, ``data``, ``train``). Every
section refuses keys it does not know, naming the key and the allowed ones. A key left out is
:data:`UNSET` and is not passed on, so the constructor it feeds keeps the single default.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from .._validation import check_float, check_int
from ..amirnet import DegradationTree
from ..errors import InvalidTypeError, InvalidValueError
from ..perceive.losses.kinds import LOSS_KINDS

__all__ = [
    "CONDITIONS",
    "LOSS_KINDS",
    "UNSET",
    "DataSection",
    "LossSection",
    "ModelSection",
    "PerceiverRecipe",
    "PerceiverSection",
    "RestorationRecipe",
    "Section",
    "TaskSection",
    "TrainConfig",
    "TreeSection",
    "TripletDataSection",
]

_PRECISIONS = ("no", "fp16", "bf16")


@dataclass
class TrainConfig:
    """How to train: optimisation, schedule, precision, logging and checkpointing.

    ``batch_size`` is the **global** batch of one optimizer step, summed over processes and
    gradient-accumulation micro-batches: each process loads
    ``batch_size / (num_processes · grad_accum)`` samples per micro-batch. The same config
    therefore trains the same way on one GPU, many GPUs or a CPU.

    Attributes:
        output_dir: Run folder: ``checkpoints/``, ``metrics.csv``, final weights.
        batch_size: Global batch per optimizer step.
        max_steps: Optimizer steps of the run; ``None``: ``epochs`` × steps per epoch.
        epochs: Epochs of the run (used when ``max_steps`` is ``None``).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        warmup_steps: Linear warmup steps before the cosine decay.
        min_lr_ratio: Final learning rate as a fraction of ``lr``.
        grad_accum: Gradient-accumulation micro-batches per optimizer step.
        grad_clip: Max gradient norm, or ``None``.
        mixed_precision: ``"no"``, ``"fp16"`` (CUDA) or ``"bf16"``.
        seed: Seed of model init, sampling order, crops.
        log_every: Log (and write ``metrics.csv``) every this many steps.
        checkpoint_every: Save a checkpoint every this many steps (and at the end).
        keep_checkpoints: Newest checkpoints kept on disk.
        num_workers: DataLoader workers per process.
        progress: tqdm progress bar on the main process.
        cpu: Force the CPU even when a GPU is visible.

    Example:
        >>> TrainConfig(batch_size=8, grad_accum=2, max_steps=1).per_process_batch(num_processes=2)
        2
    """

    output_dir: str = "runs/perceive-ir"
    batch_size: int = 8
    max_steps: int | None = None
    epochs: int | None = None
    lr: float = 2e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    grad_accum: int = 1
    grad_clip: float | None = None
    mixed_precision: str = "no"
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    num_workers: int = 0
    progress: bool = True
    cpu: bool = False

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accum", "log_every", "checkpoint_every", "keep_checkpoints"):
            check_int(getattr(self, name), name)
        for name in ("max_steps", "epochs"):
            check_int(getattr(self, name), name, optional=True)
        for name in ("warmup_steps", "seed", "num_workers"):
            check_int(getattr(self, name), name, minimum=0)
        if self.max_steps is None and self.epochs is None:
            raise InvalidValueError("Give `max_steps` or `epochs` (the length of the run).")
        if self.mixed_precision not in _PRECISIONS:
            raise InvalidValueError(f"`mixed_precision` must be one of {_PRECISIONS}, got {self.mixed_precision!r}.")
        self.lr = check_float(self.lr, "lr", minimum=0, exclusive=True)  # type: ignore[assignment]
        self.weight_decay = check_float(self.weight_decay, "weight_decay", minimum=0)  # type: ignore[assignment]
        self.min_lr_ratio = check_float(self.min_lr_ratio, "min_lr_ratio", minimum=0)  # type: ignore[assignment]
        self.grad_clip = check_float(self.grad_clip, "grad_clip", minimum=0, exclusive=True, optional=True)
        betas = self.betas
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise InvalidValueError(f"`betas` must be two numbers in [0, 1), e.g. [0.9, 0.999], got {betas!r}.")
        self.betas = tuple(check_float(b, f"betas[{i}]", minimum=0) for i, b in enumerate(betas))  # type: ignore[assignment]
        if not all(b < 1 for b in self.betas):
            raise InvalidValueError(f"`betas` must be two numbers in [0, 1), got {betas!r}.")
        for name in ("progress", "cpu"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidValueError(f"`{name}` must be true or false, got {getattr(self, name)!r}.")
        if not isinstance(self.output_dir, (str, os.PathLike)) or not str(self.output_dir):
            raise InvalidValueError(f"`output_dir` must be a folder path, got {self.output_dir!r}.")

    def per_process_batch(self, num_processes: int) -> int:
        """Samples each process loads per micro-batch.

        Raises:
            ValueError: ``batch_size`` is not divisible by ``num_processes · grad_accum``.
        """
        parts = num_processes * self.grad_accum
        if self.batch_size % parts:
            raise InvalidValueError(
                f"`batch_size` ({self.batch_size}) must be divisible by num_processes × grad_accum "
                f"({num_processes} × {self.grad_accum}); it is the global batch of one optimizer step."
            )
        return self.batch_size // parts

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a mapping (e.g. the ``train`` section of a YAML recipe); unknown keys are errors.

        Example:
            >>> TrainConfig.from_mapping({"max_steps": 3, "lr": 1e-3}).lr
            0.001
        """
        values = _plain(values, "train")
        _check_keys(values, (f.name for f in fields(cls)), "train")
        with _in_section("train"):
            return cls(**values)


class _Unset:
    """The value of a config field that was not given: the constructor's own default applies."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<constructor default>"

    def __bool__(self) -> bool:
        return False


#: Marks a field left out of the recipe: the value is not passed, so the default of the
#: constructor it feeds applies (constructors are the single source of default values).
UNSET: Any = _Unset()


def _plain(values: Any, section: str) -> dict[str, Any]:
    """A recipe section as a plain dict; ``???`` (OmegaConf's mandatory value) becomes a clear error."""
    if values is None:
        return {}
    if isinstance(values, DictConfig):
        try:
            return OmegaConf.to_container(values, resolve=True, throw_on_missing=True)  # type: ignore[return-value]
        except MissingMandatoryValue as err:
            key = str(getattr(err, "full_key", None) or err.key)
            key = f"{section}.{key}" if section and not key.startswith(f"{section}.") else key
            raise InvalidValueError(
                f"`{key}` is required (the recipe leaves it as ???): set it with {key}=..."
            ) from None
    if isinstance(values, Mapping):
        return dict(values)
    raise InvalidTypeError(f"`{section}` must be a mapping of settings, got {type(values).__name__}.")


@contextmanager
def _in_section(section: str) -> Iterator[None]:
    """Name a field's ``ValueError`` by its dotted key (`lr` → `train.lr`), as the user wrote it."""
    try:
        yield
    except ValueError as err:
        message = str(err)
        if section and message.startswith("`") and not message.startswith(f"`{section}."):
            raise InvalidValueError(f"`{section}.{message[1:]}") from None
        raise


def _check_keys(values: Mapping[str, Any], allowed: Iterable[str], section: str) -> None:
    allowed = sorted(allowed)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        names = ", ".join(f"`{section}.{k}`" if section else f"`{k}`" for k in unknown)
        raise InvalidValueError(f"Unknown setting {names}; `{section or 'the recipe'}` takes: {', '.join(allowed)}.")


S = TypeVar("S", bound="Section")


@dataclass
class Section:
    """A strict recipe section: built from a mapping whose keys must all be fields."""

    @classmethod
    def from_mapping(cls: type[S], values: Any, section: str) -> S:
        """Build from a mapping (a YAML section), refusing keys that are not fields.

        Args:
            values: The section (a dict, an OmegaConf ``DictConfig`` or ``None`` for all defaults).
            section: The section's dotted name, for error messages.

        Raises:
            ValueError: an unknown key (the message names it and lists the allowed ones), or a
                mandatory ``???`` value left unset.
            TypeError: ``values`` is not a mapping.
        """
        plain = _plain(values, section)
        _check_keys(plain, (f.name for f in fields(cls)), section)
        with _in_section(section):
            return cls(**plain)

    def given(self, *names: str) -> dict[str, Any]:
        """The named fields (all fields if none are named) that the recipe set.

        Fields left :data:`UNSET`, and wrap options left ``None``, are omitted so that the
        receiving constructor's default applies.
        """
        names = names or tuple(f.name for f in fields(self))
        return {n: getattr(self, n) for n in names if getattr(self, n) is not UNSET}


#: Model conditions a stage-2 recipe can use.
CONDITIONS: tuple[str, ...] = ("cfe", "tree", "cfe+tree")

_WRAP_OPTIONS: tuple[str, ...] = (
    "layers", "cond_dim", "cross_attention", "multiple", "semantic_encoder_revision", "semantic_layers",
    "hidden_dim", "image_size", "probe_size",
)
#: Deprecated ``model`` keys → the current ones (accepted, with a DeprecationWarning, for one release).
_RENAMED_MODEL_KEYS: dict[str, str] = {"pad_to": "multiple", "encoder_revision": "semantic_encoder_revision"}


@dataclass
class ModelSection(Section):
    """``model``: which network to train, and how it is wrapped.

    Attributes:
        name: A preset of :func:`perceive_ir.models.create_model`: ``perceiveirnet`` (the
            authors' network, :class:`~perceive_ir.models.PerceiveIRNet`, built as it is) or a
            backbone preset wrapped with Perceive-IR guidance (e.g. ``restormer``).
        backbone_checkpoint: Or a checkpoint file of any network spandrel loads.
        options: Constructor arguments of the network: for a preset built as it is
            (``perceiveirnet``: ``dim``, ``blocks``, ``heads``, ``refinement_blocks``,
            ``semantic_layers``), its keyword arguments; for a wrapped preset, the backbone's
            arguments that replace the preset's. Left out: the preset's.
        wrap: Wrap the network with Perceive-IR guidance (``False``: train it bare). A preset
            built as it is (``perceiveirnet``, ``amirnet``) is never wrapped.
        condition: ``cfe`` (Perceive-IR), ``tree`` (AMIRNet's degradation tree, from the
            ``tree`` section) or ``cfe+tree``.
        semantic_encoder: The frozen DINOv2 (Hub id or local folder); ``null``: CFE-only
            guidance (wrapped presets only); left out: the network's default
            (``facebook/dinov2-base``).
        layers, cond_dim, cross_attention, multiple, semantic_encoder_revision, semantic_layers,
        hidden_dim, image_size, probe_size: ``wrap_backbone`` options; ``null`` or left out:
            the preset's (or ``wrap_backbone``'s) value.
        pad_to, encoder_revision: Deprecated spellings of ``multiple`` and
            ``semantic_encoder_revision``: a value given moves there (with a
            ``DeprecationWarning``) and the field reads ``None``.
    """

    name: str | None = None
    backbone_checkpoint: str | None = None
    options: Mapping[str, Any] | None = None
    wrap: bool = True
    condition: str = "cfe"
    semantic_encoder: Any = UNSET
    layers: Sequence[str] | None = None
    cond_dim: int | None = None
    cross_attention: bool | Sequence[bool] | None = None
    multiple: int | None = None
    semantic_encoder_revision: str | None = None
    semantic_layers: Sequence[int] | None = None
    hidden_dim: int | None = None
    image_size: int | None = None
    probe_size: int | None = None
    pad_to: int | None = None  # deprecated: multiple
    encoder_revision: str | None = None  # deprecated: semantic_encoder_revision

    def __post_init__(self) -> None:
        self._move_renamed_keys()
        if not self.name and not self.backbone_checkpoint:
            raise InvalidValueError(
                "`model.name` (a preset such as 'restormer') or `model.backbone_checkpoint` (a spandrel file) "
                "is required."
            )
        if self.name and self.backbone_checkpoint:
            raise InvalidValueError("Give `model.name` or `model.backbone_checkpoint`, not both.")
        if self.condition not in CONDITIONS:
            raise InvalidValueError(
                f"`model.condition` must be one of {', '.join(CONDITIONS)}, got {self.condition!r}."
            )
        if self.condition != "cfe" and not self.wrap:
            raise InvalidValueError(
                f"`model.condition: {self.condition}` conditions a wrapped model: set `model.wrap: true`."
            )
        if self.options is not None and not isinstance(self.options, Mapping):
            raise InvalidValueError(
                f"`model.options` must be a mapping of constructor arguments, got {self.options!r}."
            )

    def _move_renamed_keys(self) -> None:
        """Move a value given under a deprecated key to its current key, with a ``DeprecationWarning``."""
        for old, new in _RENAMED_MODEL_KEYS.items():
            value = getattr(self, old)
            if value is None:
                continue
            if getattr(self, new) is not None:
                raise InvalidValueError(
                    f"Give `model.{new}` only: `model.{old}` is its deprecated spelling (both were set)."
                )
            # at the recipe's reader (from_mapping) or the code that built the section
            warnings.warn(f"`model.{old}` is deprecated; use `model.{new}`.", DeprecationWarning, stacklevel=4)
            setattr(self, new, value)
            setattr(self, old, None)

    @property
    def uses_tree(self) -> bool:
        """Whether the condition includes AMIRNet's degradation tree."""
        return "tree" in self.condition

    def wrap_options(self) -> dict[str, Any]:
        """The ``wrap_backbone`` options the recipe set (``semantic_encoder`` included when given)."""
        options = {k: getattr(self, k) for k in _WRAP_OPTIONS if getattr(self, k) is not None}
        for key in ("layers", "semantic_layers"):
            if key in options:
                options[key] = tuple(options[key])
        if isinstance(options.get("cross_attention"), list):
            options["cross_attention"] = tuple(options["cross_attention"])
        return {**options, **self.given("semantic_encoder")}




_PROXY_KEYS: tuple[str, ...] = ("checkpoint", "tasks", "name")


@dataclass
class LossSection(Section):
    """``loss``: the stage-2 objective.

    Attributes:
        kind: ``quality`` (the quality-aware loss), ``l1`` (the plain baseline), or a kind
            registered in :data:`~perceive_ir.perceive.losses.LOSS_KINDS`.
        perceiver: Folder or Hub id of the stage-1 perceiver (required for ``quality``).
        weights, feature_space, difficulty, degenerate, clip_logit_scale:
            :class:`~perceive_ir.QualityAwareLoss` arguments (``degenerate: raise`` stops on a
            batch without contrastive negatives; ``clip_logit_scale: false`` is the authors'
            ``L_clip``, the softmax of the raw cosines).
        medium_restorers: The stage-1 triplet folder (or its ``manifest.json``) of a
            ``crossfit`` build: its two trained medium restorers become proxies (the paper's
            medium negatives), named ``crossfit0`` and ``crossfit1``; ``null``: none. Like
            ``proxies``, unused by ``kind: l1``.
        proxies: More proxy restorers: a checkpoint (file or folder :func:`~perceive_ir.load_model`
            reads), or a mapping ``{checkpoint, tasks, name}`` where ``tasks`` lists the tasks
            the proxy is valid for (the mask ``m_k``; left out: every task).
        probe_samples, cfe_crop: :class:`~perceive_ir.training.RestorationTrainer` arguments
            (``probe_samples`` per task; ``cfe_crop`` only for a wrapped model's CFE views).
    """

    kind: str = "quality"
    perceiver: str | None = None
    weights: Mapping[str, float] | None = None
    feature_space: Any = UNSET
    difficulty: Any = UNSET
    degenerate: Any = UNSET
    clip_logit_scale: Any = UNSET
    medium_restorers: str | None = None
    proxies: Sequence[str | Mapping[str, Any]] = ()
    probe_samples: Any = UNSET
    cfe_crop: Any = UNSET

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:  # the registry's error lists the kinds and how to add one
            raise LOSS_KINDS.unknown(self.kind)
        if self.kind == "quality" and not self.perceiver:
            raise InvalidValueError(
                "`loss.perceiver` is required for loss.kind=quality: the folder written by "
                "`perceive-ir train-perceiver` (or a Hub id)."
            )
        entries: list[str | dict[str, Any]] = []
        for i, entry in enumerate(self.proxies or ()):
            if isinstance(entry, Mapping):
                entry = dict(entry)
                _check_keys(entry, _PROXY_KEYS, f"loss.proxies[{i}]")
                if not entry.get("checkpoint"):
                    raise InvalidValueError(
                        f"`loss.proxies[{i}].checkpoint` is required: the proxy restorer's checkpoint."
                    )
                if entry.get("tasks") is not None:
                    entry["tasks"] = [str(t) if not isinstance(t, int) else t for t in entry["tasks"]]
                entries.append(entry)
            else:
                entries.append(str(entry))
        self.proxies = tuple(entries)


@dataclass
class TaskSection(Section):
    """One entry of ``data.tasks``: a file list, or a pair of folders with its task.

    Attributes:
        filelist: A JSON file list (``perceive_ir.data.write_filelist``).
        root: Folder the file list's relative paths start from.
        degradations: Keep only the file list's items with these degradation presets.
        degraded_dir, clean_dir: Or a pair of folders of matching images.
        task: The task of a pair of folders (a name or an int id).
        repeat: Times the task's samples are repeated per epoch (task balance).
    """

    filelist: str | None = None
    root: str | None = None
    degradations: Sequence[str] | None = None
    degraded_dir: str | None = None
    clean_dir: str | None = None
    task: str | int | None = None
    repeat: int = 1

    def __post_init__(self) -> None:
        folders = self.degraded_dir is not None or self.clean_dir is not None
        if bool(self.filelist) == folders:
            raise InvalidValueError(
                "A `data.tasks` entry needs `filelist`, or `degraded_dir` and `clean_dir` (not both)."
            )
        if folders and not (self.degraded_dir and self.clean_dir and self.task is not None):
            raise InvalidValueError("A paired-folder `data.tasks` entry needs `degraded_dir`, `clean_dir` and `task`.")
        check_int(self.repeat, "repeat")


@dataclass
class DataSection(Section):
    """``data``: the training pairs.

    Attributes:
        tasks: One :class:`TaskSection` per task.
        crop, hflip, vflip: Dataset arguments; left out: the datasets' defaults.
        seed: Seed of crops and on-the-fly degradations; left out: ``train.seed``.
        positive: Dataset argument: each training item also holds ``degraded_positive``,
            another crop (own position and flips) of the same degraded image, with the same
            synthetic noise — the authors' positive of ``L_cl`` (their ``positive_lq``).
            :class:`~perceive_ir.models.PerceiveIRNet` recipes need it; left out: the datasets'
            default (none).
    """

    tasks: Sequence[TaskSection] = ()
    crop: Any = UNSET
    hflip: Any = UNSET
    vflip: Any = UNSET
    seed: Any = UNSET
    positive: Any = UNSET

    @classmethod
    def from_mapping(cls, values: Any, section: str = "data") -> DataSection:  # noqa: D102 - see Section
        plain = _plain(values, section)
        tasks = plain.pop("tasks", None) or []
        if not isinstance(tasks, Sequence) or isinstance(tasks, str):
            raise InvalidTypeError(f"`{section}.tasks` must be a list of task entries, got {type(tasks).__name__}.")
        _check_keys(plain, (f.name for f in fields(cls) if f.name != "tasks"), section)
        entries = []
        for i, entry in enumerate(tasks):
            try:
                entries.append(TaskSection.from_mapping(entry, f"{section}.tasks[{i}]"))
            except ValueError as err:
                if str(err).startswith(f"`{section}.tasks[{i}]"):
                    raise
                raise InvalidValueError(f"`{section}.tasks[{i}]`: {err}") from None
        if not entries:
            raise InvalidValueError(f"`{section}.tasks` is empty: list a file list or a paired folder per task.")
        return cls(tasks=tuple(entries), **plain)


_TREE_SCHEDULE = {"grow_every": "every", "weight": "weight", "batch_size": "batch_size"}


@dataclass
class TreeSection(Section):
    """``tree``: AMIRNet's degradation tree, when ``model.condition`` uses it.

    Attributes:
        grow_every, weight, batch_size: :class:`~perceive_ir.training.TreeGrowthCallback`
            arguments (``every``, ``weight``, ``batch_size``).
        options: Every other key: :class:`~perceive_ir.DegradationTree` arguments
            (``depth``, ``branching``, ...), checked against its signature.
    """

    grow_every: Any = UNSET
    weight: Any = UNSET
    batch_size: Any = UNSET
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Any, section: str = "tree") -> TreeSection:  # noqa: D102 - see Section
        plain = _plain(values, section)
        schedule = {k: plain.pop(k) for k in list(plain) if k in _TREE_SCHEDULE}
        tree_args = [p for p in inspect.signature(DegradationTree).parameters]
        _check_keys(plain, [*tree_args, *_TREE_SCHEDULE], section)
        return cls(**schedule, options=plain)

    def callback_options(self) -> dict[str, Any]:
        """The growth schedule as ``TreeGrowthCallback`` keyword arguments."""
        return {_TREE_SCHEDULE[k]: v for k, v in self.given("grow_every", "weight", "batch_size").items()}


@dataclass
class PerceiverSection(Section):
    """``perceiver`` of a stage-1 recipe: :class:`~perceive_ir.QualityPerceiver` arguments.

    Attributes:
        clip_model, clip_pretrained, n_ctx, tier_words: left out: the perceiver's defaults.
        style: ``"official"``: the authors' prompt template (``X … X``, no trailing period)
            and image preprocessing; ``"perceive-ir"``: this library's (``X … X.``, antialiased
            resize). Left out: the perceiver's default (``"perceive-ir"``).
    """

    clip_model: Any = UNSET
    clip_pretrained: Any = UNSET
    n_ctx: Any = UNSET
    tier_words: Any = UNSET
    style: Any = UNSET


@dataclass
class TripletDataSection(Section):
    """``data`` of a stage-1 recipe.

    Attributes:
        manifest: The ``manifest.json`` written by ``build_triplets`` (required).
        crop: Crop side; left out: the perceiver trainer's default.
    """

    manifest: str | None = None
    crop: Any = UNSET

    def __post_init__(self) -> None:
        if not self.manifest:
            raise InvalidValueError("`data.manifest` is required: the manifest.json written by build_triplets.")


@dataclass
class RestorationRecipe:
    """A stage-2 recipe, every section typed and strict.

    Example:
        >>> recipe = RestorationRecipe.from_config({
        ...     "model": {"name": "nafnet-small", "semantic_encoder": None},
        ...     "loss": {"kind": "l1"},
        ...     "data": {"tasks": [{"degraded_dir": "lq", "clean_dir": "gt", "task": "denoise"}]},
        ...     "train": {"max_steps": 10},
        ... })
        >>> recipe.model.wrap_options(), recipe.train.max_steps
        ({'semantic_encoder': None}, 10)
        >>> RestorationRecipe.from_config({"modle": {}})
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: Unknown setting `modle`; `the recipe` takes: data, loss, ...
    """

    model: ModelSection
    loss: LossSection
    data: DataSection
    train: TrainConfig
    tree: TreeSection | None = None

    @classmethod
    def from_config(cls, cfg: Any) -> RestorationRecipe:
        """Build from a merged config (:func:`~perceive_ir.training.config_files.load_config`) or a dict.

        Raises:
            ValueError: an unknown section or key, a missing required value, or a bad value.
        """
        plain = _plain(cfg, "")
        _check_keys(plain, ("model", "loss", "data", "train", "tree"), "")
        model = ModelSection.from_mapping(plain.get("model"), "model")
        tree = TreeSection.from_mapping(plain.get("tree"), "tree") if model.uses_tree else None
        if tree is None and plain.get("tree"):
            raise InvalidValueError(
                "A `tree` section is given but `model.condition` does not use it (tree or cfe+tree)."
            )
        return cls(
            model=model,
            loss=LossSection.from_mapping(plain.get("loss"), "loss"),
            data=DataSection.from_mapping(plain.get("data"), "data"),
            train=TrainConfig.from_mapping(_plain(plain.get("train"), "train")),
            tree=tree,
        )


@dataclass
class PerceiverRecipe:
    """A stage-1 recipe, every section typed and strict."""

    perceiver: PerceiverSection
    data: TripletDataSection
    train: TrainConfig

    @classmethod
    def from_config(cls, cfg: Any) -> PerceiverRecipe:
        """Build from a merged config or a dict.

        Raises:
            ValueError: an unknown section or key, a missing required value, or a bad value.
        """
        plain = _plain(cfg, "")
        _check_keys(plain, ("perceiver", "data", "train"), "")
        return cls(
            perceiver=PerceiverSection.from_mapping(plain.get("perceiver"), "perceiver"),
            data=TripletDataSection.from_mapping(plain.get("data"), "data"),
            train=TrainConfig.from_mapping(_plain(plain.get("train"), "train")),
        )
