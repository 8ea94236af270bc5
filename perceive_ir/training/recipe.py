"""Build trainers from recipe configs (YAML + ``key=value`` overrides, see :func:`perceive_ir.training.config_files.load_config`).

A stage-2 recipe has four sections:

* ``model``: ``name`` (a preset of ``perceive_ir.models.presets.create_model``) or
  ``backbone_checkpoint`` (any network file spandrel loads), then ``wrap`` with
  ``semantic_encoder``, ``cond_dim``, ``pad_to``, ``cross_attention``;
* ``loss``: ``kind`` (``quality`` or ``l1``), ``perceiver`` (folder or Hub id of the stage-1
  perceiver), ``weights``, ``feature_space``, ``difficulty``, ``proxies`` (spandrel files),
  ``probe_samples``, ``cfe_crop``;
* ``data``: ``crop``, ``seed``, ``hflip``, ``vflip`` and ``tasks``: a list of entries with
  either ``filelist`` (+ optional ``degradations``, ``root``) or ``degraded_dir`` +
  ``clean_dir`` + ``task``, each with a ``repeat`` factor;
* ``train``: the fields of :class:`~perceive_ir.training.TrainConfig`;
* ``tree`` (optional, AMIRNet): when ``model.condition`` is ``tree`` or ``cfe+tree``, a
  ``DegradationTree`` conditions the wrapped model (in place of or beside the CFE) and grows
  every ``grow_every`` epochs; ``weight`` scales its pseudo-label loss, ``batch_size`` is the
  batch of the representation pass, and the other keys (``depth``, ``branching``, ...) go to
  ``DegradationTree``.

A stage-1 recipe has ``perceiver`` (``clip_model``, ``clip_pretrained``, ``n_ctx``),
``data`` (``manifest``, ``crop``) and ``train``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from ..models import create_model
from .config import TrainConfig

__all__ = ["build_backbone", "build_datasets", "build_restoration_model", "perceiver_trainer", "restoration_trainer"]


def _plain(section: Any) -> dict[str, Any]:
    from omegaconf import DictConfig, OmegaConf

    if section is None:
        return {}
    if isinstance(section, DictConfig):
        return OmegaConf.to_container(section, resolve=True)  # type: ignore[return-value]
    if isinstance(section, Mapping):
        return dict(section)
    raise TypeError(f"A recipe section must be a mapping, got {type(section).__name__}.")


def _load_spandrel(path: str) -> nn.Module:
    import spandrel

    try:
        import spandrel_extra_arches

        spandrel_extra_arches.install(ignore_duplicates=True)
    except ImportError:  # pragma: no cover - optional
        pass
    return spandrel.ModelLoader().load_from_file(str(path)).model


def _require_source(model_cfg: Mapping[str, Any]) -> None:
    if not model_cfg.get("backbone_checkpoint") and not model_cfg.get("name"):
        raise ValueError(
            "`model.name` (a preset such as 'restormer') or `model.backbone_checkpoint` (a spandrel file) is required."
        )


def build_backbone(model_cfg: Mapping[str, Any]) -> nn.Module:
    """The bare restoration network: a user's spandrel checkpoint, or the backbone of a named preset.

    Raises:
        ValueError: neither ``name`` nor ``backbone_checkpoint`` is set.

    Example:
        >>> type(build_backbone({"name": "nafnet-small"})).__name__
        'NAFNet'
    """
    _require_source(model_cfg)
    if model_cfg.get("backbone_checkpoint"):
        return _load_spandrel(model_cfg["backbone_checkpoint"])
    return create_model(str(model_cfg["name"]), wrap=False)


_WRAP_OPTIONS = ("layers", "cond_dim", "cross_attention", "pad_to", "encoder_revision", "semantic_layers",
                 "hidden_dim", "image_size", "probe_size")


_CONDITIONS = ("cfe", "tree", "cfe+tree")
_TREE_TRAINING_KEYS = ("grow_every", "weight", "batch_size")


def _condition(model_cfg: Mapping[str, Any], tree: nn.Module | None) -> list[Any] | None:
    kind = model_cfg.get("condition", "cfe") or "cfe"
    if kind not in _CONDITIONS:
        raise ValueError(f"`model.condition` must be one of {', '.join(_CONDITIONS)}, got {kind!r}.")
    if kind == "cfe":
        return None
    if tree is None:
        raise ValueError(f"`model.condition: {kind}` needs the degradation tree built from the `tree` section.")
    return [tree] if kind == "tree" else ["cfe", tree]


def build_restoration_model(model_cfg: Mapping[str, Any], tree: nn.Module | None = None) -> nn.Module:
    """The network to train: wrapped with Perceive-IR guidance unless ``model.wrap`` is false.

    A preset ``name`` is built by ``perceive_ir.models.presets.create_model`` (already wrapped,
    with the preset's layers, cross-attention and padding unless the config sets them); a
    ``backbone_checkpoint`` is loaded with spandrel and wrapped with :func:`~perceive_ir.wrap_backbone`.

    Args:
        model_cfg: The ``model`` section.
        tree: The AMIRNet degradation tree, when ``model.condition`` names it.

    Raises:
        ValueError: neither ``name`` nor ``backbone_checkpoint`` is set; a bad ``condition``.

    Example:
        >>> model = build_restoration_model({"name": "nafnet-small", "semantic_encoder": None, "probe_size": 32})
        >>> type(model).__name__, model.pad_to
        ('WrappedBackbone', 16)
    """
    model_cfg = _plain(model_cfg)
    _require_source(model_cfg)
    if not model_cfg.get("wrap", True):
        return build_backbone(model_cfg)
    options = {k: model_cfg[k] for k in _WRAP_OPTIONS if model_cfg.get(k) is not None}
    condition = _condition(model_cfg, tree)
    if condition is not None:
        options["condition"] = condition
    for key in ("layers", "semantic_layers"):
        if key in options:
            options[key] = tuple(options[key])
    encoder = model_cfg.get("semantic_encoder", "facebook/dinov2-base")
    if model_cfg.get("backbone_checkpoint"):
        from ..retrofit.wrap import wrap_backbone

        return wrap_backbone(_load_spandrel(model_cfg["backbone_checkpoint"]), semantic_encoder=encoder, **options)
    return create_model(str(model_cfg["name"]), semantic_encoder=encoder, **options)


def build_datasets(data_cfg: Mapping[str, Any]) -> tuple[list[Any], list[int]]:
    """Per-task training datasets and their repeat factors.

    Raises:
        ValueError: no tasks, or an entry with neither ``filelist`` nor ``degraded_dir``/``clean_dir``.
    """
    from ..data import FileListDataset, PairedFolderDataset

    data_cfg = _plain(data_cfg)
    tasks = data_cfg.get("tasks") or []
    if not tasks:
        raise ValueError("`data.tasks` is empty: list a file list or a paired folder per task.")
    common = {"crop": data_cfg.get("crop"), "seed": data_cfg.get("seed", 0), "hflip": data_cfg.get("hflip", True),
              "vflip": data_cfg.get("vflip", False)}
    datasets, repeats = [], []
    for i, entry in enumerate(tasks):
        entry = dict(entry)
        if entry.get("filelist"):
            ds = FileListDataset(entry["filelist"], root=entry.get("root"), degradations=entry.get("degradations"),
                                 **common)
        elif entry.get("degraded_dir") and entry.get("clean_dir"):
            if entry.get("task") is None:
                raise ValueError(f"`data.tasks[{i}]` is a paired folder without `task` (a name or an int id).")
            ds = PairedFolderDataset(entry["degraded_dir"], entry["clean_dir"], task=entry["task"], **common)
        else:
            raise ValueError(f"`data.tasks[{i}]` needs `filelist`, or `degraded_dir` and `clean_dir`; got {entry}.")
        datasets.append(ds)
        repeats.append(int(entry.get("repeat", 1)))
    return datasets, repeats


def _loss(loss_cfg: Mapping[str, Any]) -> tuple[Any, list[nn.Module]]:
    kind = loss_cfg.get("kind", "quality")
    if kind == "l1":
        return "l1", []
    if kind != "quality":
        raise ValueError(f"`loss.kind` must be 'quality' or 'l1', got {kind!r}.")
    from ..perceive.losses import QualityAwareLoss
    from ..perceive.perceiver import QualityPerceiver

    if not loss_cfg.get("perceiver"):
        raise ValueError("`loss.perceiver` is required for loss.kind=quality: the folder written by "
                         "`perceive-ir train-perceiver` (or a Hub id).")
    perceiver = QualityPerceiver.from_pretrained(str(loss_cfg["perceiver"]))
    loss = QualityAwareLoss(perceiver, weights=loss_cfg.get("weights"), feature_space=loss_cfg.get("feature_space", "clip"),
                            difficulty=loss_cfg.get("difficulty", "proxy_psnr"))
    proxies = []
    for path in loss_cfg.get("proxies") or []:
        proxies.append(build_backbone({"backbone_checkpoint": path}))
    return loss, proxies


def restoration_trainer(cfg: Mapping[str, Any], callbacks: Any = ()) -> Any:
    """A :class:`~perceive_ir.training.RestorationTrainer` from a stage-2 recipe."""
    from .restoration import RestorationTrainer

    model_cfg, loss_cfg = _plain(cfg.get("model")), _plain(cfg.get("loss"))
    train_cfg = TrainConfig.from_mapping(_plain(cfg.get("train")))
    datasets, repeats = build_datasets(_plain(cfg.get("data")))
    loss, proxies = _loss(loss_cfg)
    model: Any = lambda: build_restoration_model(model_cfg)  # noqa: E731 - built after seeding
    callbacks = list(callbacks)
    if "tree" in str(model_cfg.get("condition", "cfe")):
        # the tree object must be shared by the model and its growth callback: build both now,
        # seeded, so every process (and a resumed run) gets the same initial weights
        from accelerate.utils import set_seed

        from ..amirnet import DegradationTree
        from .callbacks import TreeGrowthCallback

        tree_cfg = _plain(cfg.get("tree"))
        set_seed(train_cfg.seed)
        tree = DegradationTree(**{k: v for k, v in tree_cfg.items() if k not in _TREE_TRAINING_KEYS})
        model = build_restoration_model(model_cfg, tree)
        callbacks.append(TreeGrowthCallback(tree, every=int(tree_cfg.get("grow_every", 1)),
                                            weight=float(tree_cfg.get("weight", 1.0)),
                                            batch_size=int(tree_cfg.get("batch_size", 16))))
    return RestorationTrainer(
        model,
        datasets,
        train_cfg,
        loss=loss,
        repeats=repeats,
        proxies=proxies,
        probe_samples=int(loss_cfg.get("probe_samples", 8)),
        cfe_crop=loss_cfg.get("cfe_crop"),
        callbacks=callbacks,
    )


def perceiver_trainer(cfg: Mapping[str, Any]) -> Any:
    """A :class:`~perceive_ir.training.PerceiverTrainer` from a stage-1 recipe."""
    from ..perceive.perceiver import QualityPerceiver
    from .perceiver import PerceiverTrainer

    p_cfg, data_cfg = _plain(cfg.get("perceiver")), _plain(cfg.get("data"))
    if not data_cfg.get("manifest"):
        raise ValueError("`data.manifest` is required: the manifest.json written by build_triplets.")
    return PerceiverTrainer(
        lambda: QualityPerceiver(p_cfg.get("clip_model", "ViT-B-32"), p_cfg.get("clip_pretrained", "openai"),
                                 n_ctx=int(p_cfg.get("n_ctx", 16))),
        data_cfg["manifest"],
        TrainConfig.from_mapping(_plain(cfg.get("train"))),
        crop=data_cfg.get("crop", 224),
    )
