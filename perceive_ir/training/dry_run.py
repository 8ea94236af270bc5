"""``perceive-ir train --dry-run``: build a stage-2 recipe's model, loss, optimiser and data plan, train nothing.

:func:`dry_run` builds what a run would build and reports it (:class:`DryRunReport`): the
network class and its trainable parameter count, the loss terms with their weights and
where each comes from, the optimiser and schedule, the data mix with its repeat factors,
and what is missing. It never downloads: Hugging Face is put in offline mode for the call,
and an encoder that is not on this machine (DINOv2, the VGG-16 weights) is listed as
missing. A DINOv2 of a known size that is not here is stood in for by a random encoder of
the same configuration, so the network is still built and counted (its trainable
parameters do not depend on the frozen encoder's weights).

Missing inputs — dataset files, the stage-1 perceiver and triplet folders, proxy
checkpoints, weights a real run downloads — are reported but do not fail the dry run;
anything else that cannot be built (a bad setting, a model the loss cannot train) does.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from .._defaults import DEFAULT_SEMANTIC_ENCODER
from ..errors import InvalidValueError
from ..models.factory import preset_is_wrapped
from ..perceive.losses import LossWeights
from .config import UNSET, LossSection, ModelSection, RestorationRecipe
from .schedule import warmup_cosine

__all__ = ["DryRunReport", "dry_run", "offline"]

#: Placeholder for a required recipe value left as ``???``: reported as missing.
_UNSET_TEXT = "<not set>"

#: transformers ``Dinov2Config`` arguments of the published DINOv2 sizes (``{}``: the defaults, dinov2-base).
_DINOV2_SIZES: dict[str, dict[str, Any]] = {
    "facebook/dinov2-small": {"hidden_size": 384, "num_attention_heads": 6},
    "facebook/dinov2-base": {},
    "facebook/dinov2-large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16},
    "facebook/dinov2-giant": {"hidden_size": 1536, "num_hidden_layers": 40, "num_attention_heads": 24},
}

_OFFLINE_ENVS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PERCEIVE_IR_OFFLINE")


@dataclass
class DryRunReport:
    """What a recipe builds, and what it lacks.

    Attributes:
        network: Class name of the network, or ``None`` when it could not be built.
        trainable_parameters: Its trainable parameter count.
        loss_terms: ``(term, weight, how it is computed)`` for every term with a nonzero weight.
        optimizer: The optimiser and its settings.
        schedule: Steps, batch, learning-rate schedule, precision.
        data: One row per task: ``task``, ``source``, ``repeat``, ``items`` (``None`` when unknown).
        missing: Inputs that are not on this machine (the run needs them; the dry run does not).
        errors: What could not be built for another reason; the dry run fails when there is any.
        notes: Other facts worth knowing (stand-ins used).
    """

    network: str | None = None
    trainable_parameters: int | None = None
    loss_terms: list[tuple[str, float, str]] = field(default_factory=list)
    optimizer: str = ""
    schedule: str = ""
    data: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything but the inputs could be built."""
        return not self.errors

    def format(self) -> str:
        """The report as text, one fact per line."""
        count = "unknown" if self.trainable_parameters is None else f"{self.trainable_parameters:,}"
        lines = [f"network: {self.network or 'not built'} ({count} trainable parameters)", "loss:"]
        lines += [f"  {name} x {weight:g}: {how}" for name, weight, how in self.loss_terms]
        lines += [f"optimizer: {self.optimizer}", f"schedule: {self.schedule}", "data:"]
        total = sum(row["items"] * row["repeat"] for row in self.data if row["items"] is not None)
        known = all(row["items"] is not None for row in self.data)
        for row in self.data:
            items = "? items" if row["items"] is None else f"{row['items']} items"
            share = f", {row['items'] * row['repeat'] / total:.1%} of an epoch" if known and total else ""
            lines.append(f"  {row['task']}: {row['source']} ({items} x repeat {row['repeat']}{share})")
        if known and total:
            lines.append(f"  epoch: {total} samples")
        lines += [f"note: {n}" for n in self.notes]
        lines.append("missing: none" if not self.missing else "missing:")
        lines += [f"  - {m}" for m in self.missing]
        lines += [f"error: {e}" for e in self.errors]
        lines.append("dry run: OK (everything but the missing inputs was built)" if self.ok else "dry run: FAILED")
        return "\n".join(lines)


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Hugging Face Hub, transformers and perceive-ir's VGG-16 loader in offline mode for the block.

    Example:
        >>> with offline():
        ...     os.environ["HF_HUB_OFFLINE"]
        '1'
    """
    saved = {name: os.environ.get(name) for name in _OFFLINE_ENVS}
    os.environ.update({name: "1" for name in _OFFLINE_ENVS})
    constants: Any = None
    with contextlib.suppress(ImportError):
        import huggingface_hub.constants as constants  # read at import: patched as well
    before = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        if constants is not None:
            constants.HF_HUB_OFFLINE = before
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _fill_missing(cfg: Any) -> tuple[Any, list[str]]:
    """A writable copy of ``cfg`` with its ``???`` values replaced, and their keys."""
    if not isinstance(cfg, DictConfig):
        return cfg, []
    copy = OmegaConf.create(cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=False)))  # a dict's container
    keys = sorted(OmegaConf.missing_keys(copy))
    for key in keys:
        OmegaConf.update(copy, key, _UNSET_TEXT if key == "loss.perceiver" else None, merge=False)
    return copy, keys


def _is_local_encoder(spec: str) -> bool:
    if Path(spec).is_dir():
        return True
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(spec, "config.json"), str)
    except ValueError:  # not a Hub id either (huggingface_hub's HFValidationError): a folder that is not there
        return False


def _encoder_stand_in(model: ModelSection, report: DryRunReport) -> ModelSection | None:
    """The model section with its DINOv2 usable offline: as it is, a random stand-in, or ``None``."""
    spec = DEFAULT_SEMANTIC_ENCODER if model.semantic_encoder is UNSET else model.semantic_encoder
    if not isinstance(spec, str) or _is_local_encoder(spec):
        return model
    if spec not in _DINOV2_SIZES:
        report.missing.append(f"model.semantic_encoder {spec}: not on this machine (a real run downloads it)")
        report.errors.append(f"the network needs model.semantic_encoder {spec} to be built (unknown size)")
        return None
    from transformers import Dinov2Config

    report.missing.append(f"model.semantic_encoder {spec}: not on this machine (a real run downloads it)")
    report.notes.append(f"the network was built with a random DINOv2 of {spec}'s configuration in its place")
    return replace(model, semantic_encoder=Dinov2Config(**_DINOV2_SIZES[spec]).to_dict())


def _uses_dinov2(model: ModelSection) -> bool:
    """Whether the network the section builds takes a DINOv2 (the authors' network, or a wrapped one)."""
    if model.name and not preset_is_wrapped(str(model.name)):
        return model.name == "perceiveirnet"
    return model.wrap


def _build_model(recipe: RestorationRecipe, report: DryRunReport) -> nn.Module | None:
    from ..amirnet import DegradationTree
    from .recipe import build_restoration_model

    section = _encoder_stand_in(recipe.model, report) if _uses_dinov2(recipe.model) else recipe.model
    if section is None:
        return None
    if section.backbone_checkpoint and not Path(section.backbone_checkpoint).exists():
        report.missing.append(f"model.backbone_checkpoint {section.backbone_checkpoint}: not found")
        return None
    torch.manual_seed(recipe.train.seed)
    try:
        tree = DegradationTree(**recipe.tree.options) if recipe.tree is not None else None
        model = build_restoration_model(section, tree)
    except (ValueError, TypeError, OSError, RuntimeError) as err:
        report.errors.append(f"model: {err}")
        return None
    report.network = type(model).__name__
    report.trainable_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return model


def _cl_how(model: nn.Module | None, loss: LossSection) -> str:
    from .restoration import POSITIVE_KEY, _carries_guidance, find_cfe

    if model is None:
        return "the network's CFE (network not built)"
    if _carries_guidance(model):
        return (f"the network's own CFE: anchor = the embedding that conditions it, positive = the CFE of "
                f"`{POSITIVE_KEY}` (another crop of the same degraded image)")
    if find_cfe(model) is not None:
        crop = "half the training crop" if loss.cfe_crop is UNSET else f"{loss.cfe_crop}²"
        return f"the wrapper's CFE on two views ({crop}) of each degraded crop"
    raise InvalidValueError(f"{type(model).__name__} has no CFE, so L_cl cannot be computed (or set loss.weights.cl=0)")


def _check_loss_inputs(loss: LossSection, report: DryRunReport, unset: list[str]) -> bool:
    """Report missing loss inputs; whether the loss can be built from them."""
    ready = True
    if loss.perceiver == _UNSET_TEXT:
        report.missing.append("loss.perceiver: required (the folder written by `perceive-ir train-perceiver`)")
        ready = False
    elif loss.perceiver and not Path(loss.perceiver).is_dir() and not _is_local_encoder(str(loss.perceiver)):
        report.missing.append(f"loss.perceiver {loss.perceiver}: not on this machine")
        ready = False
    if loss.medium_restorers is None and "loss.medium_restorers" in unset:
        report.missing.append("loss.medium_restorers: required (the stage-1 triplet folder of a crossfit build; "
                              "null trains without the cross-fit proxies)")
        ready = False
    elif loss.medium_restorers and not Path(loss.medium_restorers).exists():
        report.missing.append(f"loss.medium_restorers {loss.medium_restorers}: not found")
        ready = False
    for i, entry in enumerate(loss.proxies):
        path = entry["checkpoint"] if isinstance(entry, Mapping) else entry
        if not Path(str(path)).exists():
            report.missing.append(f"loss.proxies[{i}] {path}: not found")
            ready = False
    if loss.feature_space in (UNSET, "vgg16"):
        from ..perceive.losses.feature_spaces import VGG16WeightsNotFoundError, load_vgg16_state

        try:
            load_vgg16_state()
        except VGG16WeightsNotFoundError:
            report.missing.append("VGG-16 ImageNet weights vgg16-397923af.pth (L_dpl): not on this machine "
                                  "(a real run downloads them; or set PERCEIVE_IR_VGG16_WEIGHTS)")
            ready = False
    return ready


def _loss_terms(recipe: RestorationRecipe, model: nn.Module | None, report: DryRunReport, unset: list[str]) -> None:
    loss = recipe.loss
    if loss.kind == "l1":
        report.loss_terms.append(("L_rec", 1.0, "L1 (loss.kind l1: no other term)"))
        return
    weights = loss.weights if isinstance(loss.weights, LossWeights) else LossWeights(**dict(loss.weights or {}))
    scale = "raw cosines, as the authors" if loss.clip_logit_scale is False else "CLIP's logit scale"
    space = "vgg16" if loss.feature_space is UNSET else loss.feature_space
    rule = "proxy_psnr" if loss.difficulty is UNSET else loss.difficulty
    crossfit = bool(loss.medium_restorers) or "loss.medium_restorers" in unset
    proxies = (["crossfit0", "crossfit1"] if crossfit else []) + [str(p) for p in loss.proxies]
    how = {
        "rec": "L1",
        "clip": f"1 - p_high of the restored image under the stage-1 perceiver ({scale})",
        "dpl": f"difficulty-adaptive perceptual loss in {space}; medium negatives: "
               f"{', '.join(proxies) or 'none (GT and LQ only)'}; difficulty {rule}",
    }
    for name in ("rec", "cl", "clip", "dpl"):
        weight = float(getattr(weights, name))
        if weight == 0:
            continue
        if name == "cl":
            try:
                text = _cl_how(model, loss)
            except ValueError as err:
                report.errors.append(f"loss: {err}")
                text = "cannot be computed"
        else:
            text = how[name]
        report.loss_terms.append((f"L_{name}", weight, text))
    if _check_loss_inputs(loss, report, unset):
        from ..perceive.clip_loading import ClipLoadError
        from .recipe import _loss

        try:
            _loss(loss)
        except ClipLoadError as err:
            if "local Hugging Face cache" not in str(err) and "download" not in str(err).lower():
                raise
            report.missing.append(f"the CLIP weights loss.perceiver {loss.perceiver} names: not on this machine "
                                  "(a real run downloads them)")
        except (ValueError, TypeError, OSError, RuntimeError) as err:
            report.errors.append(f"loss: {err}")


def _optimizer(recipe: RestorationRecipe, model: nn.Module | None, report: DryRunReport) -> None:
    train = recipe.train
    steps = train.max_steps
    if model is not None:
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=train.lr, betas=train.betas, weight_decay=train.weight_decay)
        warmup_cosine(optimizer, steps or 1, train.warmup_steps, train.min_lr_ratio)
    report.optimizer = (f"AdamW lr {train.lr:g}, betas {tuple(train.betas)}, weight decay {train.weight_decay:g}"
                        + ("" if train.grad_clip is None else f", gradient clip {train.grad_clip:g}"))
    length = f"{steps} steps" if steps else f"{train.epochs} epochs"
    report.schedule = (f"{length}, global batch {train.batch_size} (grad_accum {train.grad_accum}), "
                       f"warmup {train.warmup_steps}, cosine {train.lr:g} -> {train.lr * train.min_lr_ratio:g}, "
                       f"precision {train.mixed_precision}, seed {train.seed}")


def _data_plan(recipe: RestorationRecipe, report: DryRunReport) -> None:
    from ..data import PairedImageDataset
    from ..data.filelists import read_filelist

    data = recipe.data
    if data.positive is not UNSET and "positive" not in inspect.signature(PairedImageDataset.__init__).parameters:
        report.errors.append("data.positive: the datasets of this installation take no `positive` argument")
    for i, entry in enumerate(data.tasks):
        items = None
        if entry.filelist:
            source, task = str(entry.filelist), None
            if not Path(entry.filelist).is_file():
                report.missing.append(f"data.tasks[{i}].filelist {entry.filelist}: not found")
            else:
                meta, listed = read_filelist(entry.filelist, root=entry.root)
                keep = set(entry.degradations) if entry.degradations is not None else None
                items = sum(1 for it in listed if keep is None or it.degradation in keep)
                task = meta.get("task")
        else:
            source, task = f"{entry.degraded_dir} + {entry.clean_dir}", entry.task
            absent = [d for d in (entry.degraded_dir, entry.clean_dir) if not Path(str(d)).is_dir()]
            report.missing += [f"data.tasks[{i}] folder {d}: not found" for d in absent]
            if not absent:
                items = sum(1 for p in Path(str(entry.clean_dir)).iterdir() if p.is_file())
        if entry.degradations:
            source += f" [{', '.join(entry.degradations)}]"
        report.data.append({"task": task or Path(source).stem, "source": source, "repeat": entry.repeat,
                            "items": items})


def dry_run(cfg: Any) -> DryRunReport:
    """Build a stage-2 recipe's model, loss, optimiser and data plan offline, without training.

    Args:
        cfg: The merged config (:func:`~perceive_ir.training.config_files.load_config`), a dict
            or a :class:`RestorationRecipe`. Required values left as ``???`` are reported as missing.

    Returns:
        The :class:`DryRunReport`; ``report.ok`` is false when something other than an input
        could not be built.

    Raises:
        ValueError: the recipe itself is invalid (an unknown key, a bad value).

    Example:
        >>> report = dry_run({"model": {"name": "nafnet-small", "semantic_encoder": None},
        ...                   "loss": {"kind": "l1"}, "train": {"max_steps": 10},
        ...                   "data": {"tasks": [{"degraded_dir": "lq", "clean_dir": "gt", "task": "denoise"}]}})
        >>> report.network, report.ok, report.missing
        ('WrappedBackbone', True, ['data.tasks[0] folder lq: not found', 'data.tasks[0] folder gt: not found'])
    """
    cfg, unset = _fill_missing(cfg)
    recipe = cfg if isinstance(cfg, RestorationRecipe) else RestorationRecipe.from_config(cfg)
    report = DryRunReport()
    with offline():
        model = _build_model(recipe, report)
        _loss_terms(recipe, model, report, unset)
        _optimizer(recipe, model, report)
        _data_plan(recipe, report)
    return report
