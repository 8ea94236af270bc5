"""Build trainers from recipes (YAML + ``key=value`` overrides, :func:`~perceive_ir.training.config_files.load_config`).

A recipe is first turned into a typed, strict :class:`~perceive_ir.training.config.RestorationRecipe`
(stage 2) or :class:`~perceive_ir.training.config.PerceiverRecipe` (stage 1): its sections are
documented there. This module only wires the sections to the library: networks come from
the model factory (:func:`~perceive_ir.models.create_model` for a preset name,
:func:`~perceive_ir.models.load_model` for a checkpoint file), the loss from
:class:`~perceive_ir.QualityAwareLoss`, the data from the datasets of :mod:`perceive_ir.data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import Dataset

from ..amirnet import DegradationTree
from ..data import FileListDataset, PairedFolderDataset
from ..errors import InvalidValueError
from ..models import create_model, load_model
from ..models.factory import preset_is_wrapped
from ..models.padded_restorer import PaddedRestorer
from ..perceive import Proxy, QualityAwareLoss, QualityPerceiver
from ..perceive.losses import LOSS_KINDS, LossSettings
from ..retrofit import wrap_backbone
from .callbacks import TreeGrowthCallback
from .config import (
    UNSET,
    DataSection,
    LossSection,
    ModelSection,
    PerceiverRecipe,
    RestorationRecipe,
    TrainConfig,
)
from .crossfit_restorers import crossfit_proxies, load_crossfit_restorers
from .loop import Callback
from .perceiver import PerceiverTrainer
from .restoration import RestorationTrainer

__all__ = [
    "build_backbone",
    "build_datasets",
    "build_proxies",
    "build_restoration_model",
    "check_precision",
    "perceiver_trainer",
    "restoration_trainer",
]


def _model_section(model: ModelSection | Mapping[str, Any]) -> ModelSection:
    return model if isinstance(model, ModelSection) else ModelSection.from_mapping(model, "model")


def build_backbone(model: ModelSection | Mapping[str, Any]) -> nn.Module:
    """The bare restoration network: a preset's backbone, or a network from a checkpoint file.

    Args:
        model: The ``model`` section (a :class:`ModelSection` or its mapping).

    Example:
        >>> type(build_backbone(ModelSection(name="nafnet-small"))).__name__
        'NAFNet'
    """
    model = _model_section(model)
    if model.backbone_checkpoint:
        return load_model(model.backbone_checkpoint).module.train()
    if not preset_is_wrapped(str(model.name)):
        return _as_built(model)
    return create_model(str(model.name), wrap=False, backbone_kwargs=model.options)


def _as_built(model: ModelSection) -> nn.Module:
    """A preset built as it is (``perceiveirnet``, ``amirnet``): ``options`` and the set wrap keys are its arguments."""
    kwargs = {**model.wrap_options(), **dict(model.options or {})}
    try:
        return create_model(str(model.name), **kwargs)
    except TypeError as err:
        raise InvalidValueError(
            f"`model` settings {sorted(kwargs)} do not fit the network {model.name!r} (built as it is, not "
            f"wrapped): {err}"
        ) from None


def _condition(model: ModelSection, tree: nn.Module | None) -> list[Any] | None:
    if not model.uses_tree:
        return None
    if tree is None:
        raise InvalidValueError(f"`model.condition: {model.condition}` needs the degradation tree built from `tree`.")
    return [tree] if model.condition == "tree" else ["cfe", tree]


def build_restoration_model(model: ModelSection | Mapping[str, Any], tree: nn.Module | None = None) -> nn.Module:
    """The network to train: wrapped with Perceive-IR guidance unless ``model.wrap`` is false.

    A preset ``name`` is wrapped with the preset's layers, cross-attention and padding unless
    the section sets them; a ``backbone_checkpoint`` is wrapped with ``wrap_backbone``'s
    defaults plus the section's options.

    Args:
        model: The ``model`` section (a :class:`ModelSection` or its mapping).
        tree: The AMIRNet degradation tree, when ``model.condition`` names it.

    Raises:
        ValueError: the condition needs a tree that is not given.

    Example:
        >>> section = ModelSection(name="nafnet-small", semantic_encoder=None, probe_size=32)
        >>> wrapped = build_restoration_model(section)
        >>> type(wrapped).__name__, wrapped.multiple
        ('WrappedBackbone', 16)
    """
    model = _model_section(model)
    if not model.wrap or (model.name and not preset_is_wrapped(str(model.name))):
        return build_backbone(model)
    options = model.wrap_options()
    condition = _condition(model, tree)
    if condition is not None:
        options["condition"] = condition
    if model.backbone_checkpoint:
        return wrap_backbone(build_backbone(model), **options)
    return create_model(str(model.name), backbone_kwargs=model.options, **options)


def build_datasets(data: DataSection, seed: int) -> tuple[list[Any], list[int]]:
    """Per-task training datasets and their repeat factors.

    Args:
        data: The ``data`` section.
        seed: The seed of crops and degradations when ``data.seed`` is not set (``train.seed``).
    """
    common = {**data.given("crop", "hflip", "vflip", "positive"), "seed": seed if data.seed is UNSET else data.seed}
    datasets: list[Dataset] = []
    repeats = []
    for entry in data.tasks:
        if entry.filelist:
            ds: Dataset = FileListDataset(entry.filelist, root=entry.root, degradations=entry.degradations, **common)
        else:  # the task section checked that both folders and the task are given
            ds = PairedFolderDataset(cast(str, entry.degraded_dir), cast(str, entry.clean_dir),
                                     task=cast("str | int", entry.task), **common)
        datasets.append(ds)
        repeats.append(entry.repeat)
    return datasets, repeats


def build_proxies(loss: LossSection) -> list[Proxy]:
    """The proxy restorers of a recipe: the cross-fit medium restorers first, then ``loss.proxies``.

    Args:
        loss: The ``loss`` section.

    Raises:
        FileNotFoundError: the triplet build or a checkpoint is missing.

    Example:
        >>> build_proxies(LossSection(kind="quality", perceiver="p"))
        []
    """
    proxies = []
    if loss.medium_restorers:
        proxies += crossfit_proxies(load_crossfit_restorers(loss.medium_restorers))
    for entry in loss.proxies:
        spec = entry if isinstance(entry, Mapping) else {"checkpoint": entry}
        loaded = load_model(str(spec["checkpoint"]))
        net = PaddedRestorer(loaded.module, loaded.multiple) if loaded.multiple > 1 else loaded.module
        proxies.append(Proxy(net, tasks=spec.get("tasks"), name=spec.get("name") or f"proxy{len(proxies)}"))
    return proxies


def check_precision(train: TrainConfig) -> None:
    """Refuse bf16 on a CUDA GPU without bf16 support (before Ampere), naming the setting to change.

    The recipes named after the paper train in bf16 as the authors do; bf16 autocast runs on
    CPUs and on CUDA GPUs from Ampere on.

    Raises:
        ValueError: ``mixed_precision`` is ``bf16`` and the GPU the run would use lacks it.

    Example:
        >>> check_precision(TrainConfig(max_steps=1, mixed_precision="bf16", cpu=True))
    """
    if train.mixed_precision != "bf16" or train.cpu or not torch.cuda.is_available():
        return
    if not torch.cuda.is_bf16_supported():
        raise InvalidValueError(
            f"`train.mixed_precision` is bf16 (the authors' precision) but {torch.cuda.get_device_name()} has no "
            "bf16: set train.mixed_precision=no (or fp16)."
        )


def _loss(loss: LossSection) -> str | QualityAwareLoss:
    settings = LossSettings(
        perceiver=loss.perceiver,
        weights=loss.weights,
        options=loss.given("feature_space", "difficulty", "degenerate", "clip_logit_scale"),
        load_proxies=lambda: build_proxies(loss),
    )
    return LOSS_KINDS[loss.kind](settings)


def restoration_trainer(cfg: Any, callbacks: Any = ()) -> RestorationTrainer:
    """A :class:`~perceive_ir.training.RestorationTrainer` from a stage-2 recipe.

    Args:
        cfg: The merged config, a plain dict, or a :class:`RestorationRecipe`.
        callbacks: More training callbacks.

    Raises:
        ValueError: an unknown section or key, a missing required value, or a bad value.
    """
    recipe = cfg if isinstance(cfg, RestorationRecipe) else RestorationRecipe.from_config(cfg)
    check_precision(recipe.train)
    datasets, repeats = build_datasets(recipe.data, recipe.train.seed)
    loss = _loss(recipe.loss)
    model: Any = lambda: build_restoration_model(recipe.model)  # noqa: E731 - built after seeding
    extra: list[Callback] = list(callbacks)
    if recipe.tree is not None:
        # the tree object must be shared by the model and its growth callback: build both now,
        # seeded, so every process (and a resumed run) gets the same initial weights
        from accelerate.utils import set_seed  # the optional `train` extra

        set_seed(recipe.train.seed)
        tree = DegradationTree(**recipe.tree.options)
        model = build_restoration_model(recipe.model, tree)
        extra.append(TreeGrowthCallback(tree, **recipe.tree.callback_options()))
    return RestorationTrainer(
        model,
        datasets,
        recipe.train,
        loss=loss,
        repeats=repeats,
        callbacks=extra,
        **recipe.loss.given("probe_samples", "cfe_crop"),
    )


def perceiver_trainer(cfg: Any) -> PerceiverTrainer:
    """A :class:`~perceive_ir.training.PerceiverTrainer` from a stage-1 recipe.

    Args:
        cfg: The merged config, a plain dict, or a :class:`PerceiverRecipe`.

    Raises:
        ValueError: an unknown section or key, a missing required value, or a bad value.
    """
    recipe = cfg if isinstance(cfg, PerceiverRecipe) else PerceiverRecipe.from_config(cfg)
    options = recipe.perceiver.given()
    return PerceiverTrainer(
        lambda: QualityPerceiver(**options),
        cast(str, recipe.data.manifest),  # required: the data section refuses a recipe without it
        recipe.train,
        **recipe.data.given("crop"),
    )
