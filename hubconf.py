"""torch.hub entry points of perceive-ir.

``torch.hub.load(<repository or clone>, <entry>, ...)`` imports this file and calls one of the
public functions below (``torch.hub.list`` names them, ``torch.hub.help`` prints their
docstrings). Each one only calls the library: the networks, loaders and error messages are
those of ``perceive_ir`` (see ``docs/torch_hub.md``).

* :func:`restorer` — a restorer preset of ``perceive_ir.models.list_models()``.
* :func:`wrap_backbone` — Perceive-IR guidance around your own network, untrained or with a
  trained adapter's weights.
* :func:`quality_perceiver` — the stage-1 quality perceiver: untrained, a folder or Hub id, or
  the authors' prompt ``.pth``.
* :func:`official_restorer` — the Perceive-IR authors' restorer from their ``.pth`` file.

perceive-ir publishes no weights yet: ``pretrained=True`` fails with the library's message on
how to train and publish them.
"""

import os as _os
from pathlib import Path as _Path
from typing import Any as _Any

from torch import nn as _nn

import perceive_ir.models as _models
import perceive_ir.retrofit as _retrofit
from perceive_ir._defaults import DEFAULT_SEMANTIC_ENCODER as _DEFAULT_SEMANTIC_ENCODER
from perceive_ir.errors import InvalidValueError as _InvalidValueError
from perceive_ir.hub import PretrainedNotFoundError as _PretrainedNotFoundError
from perceive_ir.models.factory import preset_is_wrapped as _preset_is_wrapped
from perceive_ir.perceive.perceiver import QualityPerceiver as _QualityPerceiver
from perceive_ir.published_weights import PUBLISHED_WEIGHTS as _PUBLISHED_WEIGHTS
from perceive_ir.published_weights import how_to_get_weights as _how_to_get_weights
from perceive_ir.published_weights import list_published as _list_published

# torch.hub checks these import names before calling an entry point (pyproject's dependencies)
dependencies = [
    "torch",
    "torchvision",
    "open_clip",
    "transformers",
    "safetensors",
    "huggingface_hub",
    "einops",
    "torchmetrics",
    "kornia",
    "PIL",
    "numpy",
    "tqdm",
    "filelock",
    "png",
    "omegaconf",
    "sklearn",
]

_PathLike = str | _os.PathLike


def restorer(preset: str = "restormer", *, pretrained: bool = False, **kwargs: _Any) -> _nn.Module:
    """A restorer preset: ``perceive_ir.models.create_model(preset, **kwargs)``.

    Args:
        preset: A name of ``perceive_ir.models.list_models()`` (``restormer``, ``nafnet-small``,
            ``perceiveirnet``, ...); an unknown name raises the library's error listing them.
        pretrained: Load the checkpoint published under the preset's name in
            ``perceive_ir.PUBLISHED_WEIGHTS``. None is published yet: ``True`` raises
            ``PretrainedNotFoundError`` saying how to train and publish one.
        **kwargs: ``create_model`` arguments: ``backbone_weights=`` (the backbone's own
            checkpoint, e.g. a released Restormer file), ``wrap=False`` (the bare backbone),
            ``semantic_encoder=``, ``probe_size=``, ... (``load_model`` arguments with
            ``pretrained=True``).

    Returns:
        The network, on the CPU (random weights unless ``backbone_weights`` or ``pretrained``).

    Example:
        >>> restorer("nafnet-small", semantic_encoder=None, probe_size=32).multiple
        16
    """
    if not pretrained:
        return _models.create_model(preset, **kwargs)
    _preset_is_wrapped(preset)  # an unknown preset: the library's error, with the known names
    if preset not in _PUBLISHED_WEIGHTS:
        raise _PretrainedNotFoundError(
            f"No published weights for preset {preset!r} (pretrained=True). {_how_to_get_weights('restorer')}"
        )
    entry = _PUBLISHED_WEIGHTS[preset]
    return _models.load_model(entry.repo_id, revision=entry.revision, **kwargs).module


def wrap_backbone(
    backbone: _nn.Module, *, weights: _PathLike | None = None, revision: str | None = None, **options: _Any
) -> _retrofit.WrappedBackbone:
    """Perceive-IR guidance around your own network: ``perceive_ir.wrap_backbone(backbone, **options)``.

    Args:
        backbone: Your restoration network, ``(B, 3, H, W) → output``; it is not modified.
        weights: ``None`` (untrained guidance), or the folder or Hub id of an adapter trained on
            this backbone (``perceive_ir.WrappedBackbone.from_pretrained(weights, backbone=backbone)``).
        revision: Hub revision of ``weights`` (a commit hash pins it).
        **options: ``WrappedBackbone`` options (``layers``, ``semantic_encoder``, ``cond_dim``,
            ``multiple``, ...), or ``WrappedBackbone.from_pretrained`` options when ``weights`` is given.

    Returns:
        The ``WrappedBackbone`` (in eval mode when loaded from ``weights``).

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
        >>> wrap_backbone(net, semantic_encoder=None, probe_size=16).hooked_layers
        ('0',)
    """
    if weights is None:
        return _retrofit.wrap_backbone(backbone, **options)
    return _retrofit.WrappedBackbone.from_pretrained(weights, backbone=backbone, revision=revision, **options).eval()


def quality_perceiver(
    *, weights: _PathLike | None = None, pretrained: bool = False, revision: str | None = None, **kwargs: _Any
) -> _QualityPerceiver:
    """The stage-1 quality perceiver (``perceive_ir.QualityPerceiver``).

    Args:
        weights: ``None`` (untrained prompts: ``QualityPerceiver(**kwargs)``), the authors'
            prompt file (``quality_prompts_100000.pth``: ``QualityPerceiver.from_official``), or a
            folder or Hub id written by ``save_pretrained`` (``QualityPerceiver.from_pretrained``).
        pretrained: Load the one published perceiver of ``perceive_ir.PUBLISHED_WEIGHTS``. None
            is published yet: ``True`` raises ``PretrainedNotFoundError`` saying how to train
            and publish one.
        revision: Hub revision of ``weights`` (a commit hash pins it).
        **kwargs: Arguments of the call above: ``clip_model=`` / ``clip_pretrained=`` (the
            authors' file, an untrained perceiver), ``n_ctx=``, ``style=``, ...

    Returns:
        The perceiver.

    Example:
        >>> from perceive_ir.testing import tiny_clip_config
        >>> quality_perceiver(clip_model=tiny_clip_config(), clip_pretrained=None).style
        'perceive-ir'
    """
    if pretrained:
        if weights is not None:
            raise _InvalidValueError(
                "Give `weights` (a file, folder or Hub id) or `pretrained=True`, not both."
            )
        published = _list_published("QualityPerceiver")
        if not published:
            raise _PretrainedNotFoundError(
                f"No published quality perceiver (pretrained=True). {_how_to_get_weights('QualityPerceiver')}"
            )
        if len(published) > 1:
            raise _InvalidValueError(
                f"Several perceivers are published ({', '.join(published)}): pass one as `weights=`."
            )
        weights = published[0]
    if weights is None:
        return _QualityPerceiver(**kwargs)
    if _Path(weights).is_file():
        return _QualityPerceiver.from_official(weights, **kwargs)
    return _QualityPerceiver.from_pretrained(weights, revision=revision, **kwargs)


def official_restorer(
    *,
    weights: _PathLike,
    semantic_encoder: _Any = _DEFAULT_SEMANTIC_ENCODER,
    semantic_encoder_revision: str | None = None,
) -> _models.PerceiveIRNet:
    """The Perceive-IR authors' restorer from their ``.pth`` file (``perceive_ir.models.load_official``).

    The file (``perceiveIR_*.pth``, downloaded from the authors' release) is read weights-only
    and loaded strictly; nothing in it is executed. Its DINOv2 is not in the file.

    Args:
        weights: The authors' restorer checkpoint; any other file raises
            ``OfficialCheckpointError`` naming what it looks like.
        semantic_encoder: Their DINOv2: a Hub id (the authors': ``"facebook/dinov2-base"``), a
            local folder (their ``weight/dinov2-base``) or a ``Dinov2Config``.
        semantic_encoder_revision: Hub revision of ``semantic_encoder``.

    Returns:
        The ``PerceiveIRNet``, in eval mode.
    """
    net = _models.load_official(
        weights, kind="restorer", semantic_encoder=semantic_encoder, semantic_encoder_revision=semantic_encoder_revision
    )
    assert isinstance(net, _models.PerceiveIRNet)  # kind="restorer" loads nothing else
    return net
