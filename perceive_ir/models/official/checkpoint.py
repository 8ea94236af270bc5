"""Read the Perceive-IR authors' checkpoint files into perceive-ir modules, safely and strictly.

Three kinds of file come from the authors' training code, each a ``torch.save`` dict:

* ``"prompts"`` — stage-1 quality prompts (``quality_prompts_100000.pth``, from
  ``train_stage1_prompts.py``): a ``prompt_learner`` state → :class:`~perceive_ir.perceive.perceiver.QualityPerceiver`.
* ``"restorer"`` — stage-2 restorer (``perceiveIR_3task.pth``, ``perceiveIR_5task.pth``, or a
  ``train.py`` checkpoint / ``best_model.pth``): ``model`` (with ``cfe.*`` and ``pgm.*``),
  ``config``, ``iteration``, ... → :class:`~perceive_ir.models.official.network.PerceiveIRNet`.
* ``"medium"`` — stage-1 medium restorer (``holdout_<k>/medium_020000.pth``, from
  ``train_stage1_medium.py``): ``model`` (a plain Restormer U-Net), ``heldout_fold``, ... →
  :class:`~perceive_ir.models.official.medium.MediumRestorer`.

Files are read with ``weights_only=True`` (nothing in them runs); the kind is told from the
keys; the architecture is read from the tensor shapes (and checked against a stored
``config.model``); every tensor of the file must be used and every parameter of the module
filled, with finite values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from ..._defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, DEFAULT_SEMANTIC_ENCODER
from ..._files import check_finite_weights
from ..._official_format import OfficialCheckpointError, describe_checkpoint, load_official_checkpoint
from ...errors import InvalidValueError
from ...perceive.official_prompts import is_official_prompt_checkpoint, official_prompts_from_mapping
from ...perceive.perceiver import QualityPerceiver
from ...perceive.semantic import EncoderSpec
from .medium import MediumRestorer
from .network import DEGRADATION_DIM, PerceiveIRNet
from .unet import LEVELS

__all__ = [
    "OFFICIAL_KINDS",
    "OfficialCheckpointError",
    "OfficialFile",
    "detect_official_kind",
    "load_official",
    "official_kind_of_file",
    "read_official",
    "read_official_mapping",
]

#: The kinds of authors' file, and what each loads into.
OFFICIAL_KINDS: dict[str, str] = {
    "prompts": "a stage-1 prompt checkpoint (quality_prompts_*.pth) → QualityPerceiver",
    "restorer": "a stage-2 restorer checkpoint (perceiveIR_*.pth) → PerceiveIRNet",
    "medium": "a stage-1 medium restorer checkpoint (medium_*.pth) → MediumRestorer",
}
_ANY = "a Perceive-IR authors' checkpoint (" + "; ".join(OFFICIAL_KINDS.values()) + ")"
# our CompactFeatureExtractor names the authors' `body` / `projection` differently
_CFE_RENAMES = (("cfe.body.", "cfe.encoder."), ("cfe.projection.", "cfe.proj."))
_UNET_KEYS = ("embed.weight", "encoder1.0.attention.temperature", "output.weight")


def _model_state(mapping: Mapping[str, Any]) -> dict[str, Tensor] | None:
    """The network's state dict inside a training checkpoint (or the dict itself when it is one)."""
    state = mapping.get("model", mapping)
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        return None
    state = {str(k): v for k, v in state.items()}
    if all(k.startswith("module.") for k in state):  # saved from a DistributedDataParallel wrapper
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def detect_official_kind(mapping: Mapping[str, Any]) -> str | None:
    """Which kind of authors' file a loaded dict is (a key of :data:`OFFICIAL_KINDS`), or None.

    Example:
        >>> import torch
        >>> state = {k: torch.zeros(1) for k in ("embed.weight", "encoder1.0.attention.temperature",
        ...                                       "output.weight")}
        >>> detect_official_kind({"model": state, "heldout_fold": 0})
        'medium'
        >>> detect_official_kind({"model": {**state, "pgm.0.affine.0.weight": torch.zeros(1)}})
        'restorer'
        >>> detect_official_kind({"conv.weight": torch.zeros(1)}) is None
        True
    """
    if is_official_prompt_checkpoint(mapping):
        return "prompts"
    state = _model_state(mapping)
    if state is None or not all(k in state for k in _UNET_KEYS):
        return None
    if any(k.startswith("pgm.") for k in state):
        return "restorer"
    return "medium"


def official_kind_of_file(path: str | os.PathLike[str]) -> str | None:
    """Load ``path`` weights-only and say which kind of authors' file it is (None: not one).

    Raises:
        FileNotFoundError: no such file.
        OfficialCheckpointError: the file is not a readable ``torch.save`` dict.
    """
    return detect_official_kind(load_official_checkpoint(path, _ANY))


def _count(state: Mapping[str, Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    indices = {int(m.group(1)) for k in state if (m := pattern.match(k))}
    return max(indices) + 1 if indices else 0


def _architecture(state: Mapping[str, Tensor], kind: str, stored: Any, source: str) -> dict[str, Any]:
    """``dim``, ``blocks``, ``heads``, ``refinement_blocks`` read from the tensor shapes."""
    latent = "latent.blocks." if kind == "restorer" else "latent."
    latent_attention = "mdta" if kind == "restorer" else "attention"
    try:
        arch = {
            "dim": int(state["embed.weight"].shape[0]),
            "blocks": [_count(state, f"encoder{i}.") for i in (1, 2, 3)] + [_count(state, latent)],
            "heads": [int(state[f"encoder{i}.0.attention.temperature"].shape[0]) for i in (1, 2, 3)]
            + [int(state[f"{latent}0.{latent_attention}.temperature"].shape[0])],
            "refinement_blocks": _count(state, "refinement."),
        }
    except KeyError as err:
        raise OfficialCheckpointError(
            f"{source}: the network lacks {err.args[0]}; expected {OFFICIAL_KINDS[kind]}."
        ) from None
    model_config = stored.get("model") if isinstance(stored, Mapping) else None
    if isinstance(model_config, Mapping):
        for key in ("dim", "blocks", "heads", "refinement_blocks"):
            if key in model_config and _as_plain(model_config[key]) != arch[key]:
                raise OfficialCheckpointError(
                    f"{source}: `config.model.{key}` is {model_config[key]!r} but the weights have {arch[key]!r}."
                )
    return arch


def _as_plain(value: Any) -> Any:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else value


def _load_strict(module: nn.Module, state: dict[str, Tensor], source: str, external: tuple[str, ...]) -> None:
    """Every tensor of ``state`` used, every parameter of ``module`` (outside ``external``) filled."""
    expected = {k for k in module.state_dict() if not k.startswith(external)}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise OfficialCheckpointError(
            f"{source}: the weights do not match the authors' network: missing {missing[:5]}"
            f"{' …' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}."
        )
    try:
        check_finite_weights(state, source)
    except ValueError as err:
        raise OfficialCheckpointError(str(err)) from None
    try:
        module.load_state_dict(state, strict=False)
    except RuntimeError as err:  # size mismatches
        reason = str(err).split("\n\t", 1)[-1].replace("\n\t", " ")
        raise OfficialCheckpointError(f"{source}: the weights do not fit the network: {reason}") from None


def _restorer(
    mapping: Mapping[str, Any], source: str, semantic_encoder: EncoderSpec, revision: str | None
) -> PerceiveIRNet:
    state = _model_state(mapping)
    assert state is not None
    arch = _architecture(state, "restorer", mapping.get("config"), source)
    semantic_dim = int(state["pgm.0.affine.0.weight"].shape[1]) - DEGRADATION_DIM
    net = PerceiveIRNet(**arch, semantic_encoder=semantic_encoder, semantic_encoder_revision=revision)
    if net.semantic.dim != semantic_dim:
        raise OfficialCheckpointError(
            f"{source}: the restorer was trained with semantic features of width {semantic_dim} "
            f"(DINOv2-base: 768), but `semantic_encoder` gives width {net.semantic.dim}."
        )
    for old, new in _CFE_RENAMES:
        state = {new + k[len(old) :] if k.startswith(old) else k: v for k, v in state.items()}
    _load_strict(net, state, source, external=("semantic.",))
    return net


def _medium(mapping: Mapping[str, Any], source: str) -> MediumRestorer:
    state = _model_state(mapping)
    assert state is not None
    fold = mapping.get("heldout_fold")
    net = MediumRestorer(
        **_architecture(state, "medium", mapping.get("config"), source),
        heldout_fold=fold if fold in (0, 1) else None,
    )
    _load_strict(net, state, source, external=())
    return net


@dataclass(frozen=True)
class OfficialFile:
    """An authors' file read by :func:`read_official`.

    Attributes:
        kind: A key of :data:`OFFICIAL_KINDS`.
        module: The module it loaded into, in eval mode.
        facts: What the file says of its training, where present: ``iteration``, ``tasks``
            (the restorer's ``config.data.tasks``), ``heldout_fold`` (a medium restorer's).
    """

    kind: str
    module: nn.Module
    facts: dict[str, Any] = field(default_factory=dict)


def _facts(mapping: Mapping[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if isinstance(mapping.get("iteration"), int):
        facts["iteration"] = mapping["iteration"]
    config = mapping.get("config")
    data = config.get("data") if isinstance(config, Mapping) else None
    tasks = data.get("tasks") if isinstance(data, Mapping) else None
    if isinstance(tasks, (list, tuple)) and all(isinstance(t, str) for t in tasks):
        facts["tasks"] = list(tasks)
    if mapping.get("heldout_fold") in (0, 1):
        facts["heldout_fold"] = mapping["heldout_fold"]
    return facts


def load_official(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
    semantic_encoder_revision: str | None = None,
    clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
    clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
) -> nn.Module:
    """Load any of the authors' checkpoint files into the matching perceive-ir module.

    Args:
        path: The ``.pth`` file.
        kind: What the file must be (a key of :data:`OFFICIAL_KINDS`), or ``None`` to detect it.
        semantic_encoder: DINOv2 for a restorer (the authors': ``"facebook/dinov2-base"``;
            their ``weight/dinov2-base`` folder works too).
        semantic_encoder_revision: Hub revision of ``semantic_encoder``.
        clip_model: CLIP for prompts (see :meth:`QualityPerceiver.from_official`).
        clip_pretrained: Its weights.

    Returns:
        A :class:`PerceiveIRNet`, :class:`MediumRestorer` or :class:`QualityPerceiver`, in eval mode.

    Raises:
        FileNotFoundError: no such file.
        OfficialCheckpointError: unreadable file, a pickle that would run code, a file of
            another kind than ``kind``, or weights that do not fit (one line naming the file,
            what was expected and what was found).

    Example:
        >>> import tempfile, torch
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     torch.save({"conv.weight": torch.zeros(1)}, f"{tmp}/net.pth")
        ...     try:
        ...         load_official(f"{tmp}/net.pth")
        ...     except OfficialCheckpointError as err:
        ...         print(str(err).split(": ", 1)[1][:40])
        looks like a plain state dict (1 tensors
    """
    return read_official(
        path,
        kind=kind,
        semantic_encoder=semantic_encoder,
        semantic_encoder_revision=semantic_encoder_revision,
        clip_model=clip_model,
        clip_pretrained=clip_pretrained,
    ).module


def read_official(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
    semantic_encoder_revision: str | None = None,
    clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
    clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
) -> OfficialFile:
    """:func:`load_official`, also returning the file's kind and its training facts (same arguments)."""
    _check_kind(kind)
    mapping = load_official_checkpoint(path, OFFICIAL_KINDS[kind] if kind is not None else _ANY)
    return read_official_mapping(
        mapping,
        str(Path(path)),
        kind=kind,
        semantic_encoder=semantic_encoder,
        semantic_encoder_revision=semantic_encoder_revision,
        clip_model=clip_model,
        clip_pretrained=clip_pretrained,
    )


def read_official_mapping(
    mapping: Mapping[str, Any],
    source: str,
    *,
    kind: str | None = None,
    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
    semantic_encoder_revision: str | None = None,
    clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
    clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
) -> OfficialFile:
    """:func:`read_official` on a checkpoint dict already loaded (the file is not read again).

    Args:
        mapping: The loaded ``torch.save`` dict (:func:`~perceive_ir._official_format.load_official_checkpoint`).
        source: The file it came from, for error messages.
        kind: What it must be (a key of :data:`OFFICIAL_KINDS`), or ``None`` to detect it.
        semantic_encoder: As for :func:`load_official`.
        semantic_encoder_revision: As for :func:`load_official`.
        clip_model: As for :func:`load_official`.
        clip_pretrained: As for :func:`load_official`.

    Returns:
        The kind, the module (in eval mode) and the training facts.

    Raises:
        OfficialCheckpointError: a dict of another kind than ``kind``, of no authors' kind, or
            weights that do not fit.

    Example:
        >>> import torch
        >>> try:
        ...     read_official_mapping({"conv.weight": torch.zeros(1)}, "net.pth")
        ... except OfficialCheckpointError as err:
        ...     print(str(err)[:49])
        net.pth: looks like a plain state dict (1 tensors
    """
    _check_kind(kind)
    expected = OFFICIAL_KINDS[kind] if kind is not None else _ANY
    found = detect_official_kind(mapping)
    if found is None:
        raise OfficialCheckpointError(f"{source}: {describe_checkpoint(mapping)}; expected {expected}.")
    if kind is not None and found != kind:
        raise OfficialCheckpointError(
            f"{source}: this is {OFFICIAL_KINDS[found].split(' → ')[0]}; expected {expected}."
        )
    module: nn.Module
    if found == "prompts":
        prompts = official_prompts_from_mapping(mapping, source=source)
        module = QualityPerceiver.from_official_prompts(prompts, clip_model=clip_model, clip_pretrained=clip_pretrained)
    elif found == "medium":
        module = _medium(mapping, source).eval()
    else:
        module = _restorer(mapping, source, semantic_encoder, semantic_encoder_revision).eval()
    return OfficialFile(found, module, _facts(mapping))


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in OFFICIAL_KINDS:
        raise InvalidValueError(f"`kind` must be None or one of {sorted(OFFICIAL_KINDS)}, got {kind!r}.")


assert LEVELS == 4  # the key layout above names four levels
