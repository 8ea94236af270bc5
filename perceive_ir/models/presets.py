"""Reference models: Perceive-IR guidance on spandrel's Restormer and NAFNet, one call each.

Every preset builds the bare network from spandrel (``spandrel_extra_arches`` for Restormer)
and wraps it with the public :func:`~perceive_ir.retrofit.wrap.wrap_backbone` at the latent and the
three decoder levels below it, with channel cross-attention after each FiLM.

========================  ==================================================================
preset                    hooked modules (``model.hooked_layers``)
========================  ==================================================================
``restormer`` (paper)     ``latent``, ``decoder_level3``, ``decoder_level2``, ``decoder_level1``
``restormer-small``       same names
``nafnet`` (paper)        ``middle_blks``, ``decoders.0``, ``decoders.1``, ``decoders.2``
``nafnet-small``          same names
``amirnet``               not wrapped: AMIRNet's own U-Net, conditioned by its degradation tree
``perceiveirnet``         not wrapped: the authors' network (:class:`~perceive_ir.models.PerceiveIRNet`)
========================  ==================================================================

Importing this module registers the presets with :func:`~perceive_ir.models.factory.create_model`;
a new preset goes here (or anywhere, through :func:`~perceive_ir.models.factory.register_model`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from .._defaults import DEFAULT_SEMANTIC_ENCODER
from ..amirnet.network import amirnet
from ..errors import InvalidValueError
from ..perceive.semantic import EncoderSpec
from ..retrofit.wrap import WrappedBackbone, _current_spellings, wrap_backbone
from .factory import register_model
from .official import PerceiveIRNet

__all__ = [
    "NAFNET_LAYERS",
    "NAFNET_PRESETS",
    "NAFNET_WRAP",
    "RESTORMER_LAYERS",
    "RESTORMER_PRESETS",
    "RESTORMER_WRAP",
    "nafnet_backbone",
    "perceive_ir_nafnet",
    "perceive_ir_restormer",
    "restormer_backbone",
]

#: Restormer hyper-parameters per preset. ``paper``: Zamir et al. (CVPR 2022), as used by Perceive-IR.
RESTORMER_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"dim": 48, "num_blocks": [4, 6, 6, 8], "heads": [1, 2, 4, 8], "num_refinement_blocks": 4},
    "small": {"dim": 16, "num_blocks": [1, 1, 1, 1], "heads": [1, 2, 4, 8], "num_refinement_blocks": 1},
}

#: NAFNet hyper-parameters per preset. ``paper``: NAFNet-width32 of Chen et al. (ECCV 2022, SIDD).
NAFNET_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"width": 32, "enc_blk_nums": [2, 2, 4, 8], "middle_blk_num": 12, "dec_blk_nums": [2, 2, 2, 2]},
    "small": {"width": 16, "enc_blk_nums": [1, 1, 1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1, 1, 1]},
}

#: Guided Restormer modules: the latent (1/8 resolution) and the decoder levels at 1/4, 1/2, 1.
RESTORMER_LAYERS: tuple[str, ...] = ("latent", "decoder_level3", "decoder_level2", "decoder_level1")

#: Guided NAFNet modules: the middle blocks (1/16) and the decoders at 1/8, 1/4, 1/2.
NAFNET_LAYERS: tuple[str, ...] = ("middle_blks", "decoders.0", "decoders.1", "decoders.2")


_BACKBONES_HINT = 'the reference models need spandrel: pip install "perceive-ir[backbones]"'


def _preset(table: Mapping[str, dict[str, Any]], preset: str, what: str) -> dict[str, Any]:
    if not isinstance(preset, str) or preset not in table:
        raise InvalidValueError(f"`preset` of {what} must be one of {sorted(table)}, got {preset!r}.")
    return dict(table[preset])


def restormer_backbone(preset: str = "paper", **overrides: Any) -> nn.Module:
    """The bare spandrel-extra-arches ``Restormer`` of a preset (see :data:`RESTORMER_PRESETS`).

    Args:
        preset: ``"paper"`` or ``"small"``.
        **overrides: Restormer constructor arguments that replace the preset's.

    Raises:
        ValueError: unknown ``preset``.
        ImportError: spandrel-extra-arches is not installed (the message says how to install it).

    Example:
        >>> type(restormer_backbone("small")).__name__
        'Restormer'
    """
    try:
        from spandrel_extra_arches.architectures.Restormer import Restormer
    except ImportError as err:  # pragma: no cover - installed in development
        raise ImportError(f"restormer_backbone: {_BACKBONES_HINT} (Restormer is in spandrel-extra-arches).") from err
    return Restormer(**{**_preset(RESTORMER_PRESETS, preset, "restormer_backbone"), **overrides})


def nafnet_backbone(preset: str = "paper", **overrides: Any) -> nn.Module:
    """The bare spandrel ``NAFNet`` of a preset (see :data:`NAFNET_PRESETS`).

    Args:
        preset: ``"paper"`` or ``"small"``.
        **overrides: NAFNet constructor arguments that replace the preset's.

    Raises:
        ValueError: unknown ``preset``.
        ImportError: spandrel is not installed (the message says how to install it).

    Example:
        >>> type(nafnet_backbone("small")).__name__
        'NAFNet'
    """
    try:
        from spandrel.architectures.NAFNet import NAFNet
    except ImportError as err:  # pragma: no cover - installed in development
        raise ImportError(f"nafnet_backbone: {_BACKBONES_HINT}.") from err
    return NAFNet(**{**_preset(NAFNET_PRESETS, preset, "nafnet_backbone"), **overrides})


#: How the reference presets are wrapped: guided layers, cross-attention, padding multiple.
RESTORMER_WRAP: dict[str, Any] = {"layers": list(RESTORMER_LAYERS), "cross_attention": True, "multiple": 8}
NAFNET_WRAP: dict[str, Any] = {"layers": list(NAFNET_LAYERS), "cross_attention": True, "multiple": 16}


def perceive_ir_restormer(
    preset: str = "paper",
    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
    *,
    backbone_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> WrappedBackbone:
    """Restormer (spandrel-extra-arches) with Perceive-IR guidance at four levels.

    ``paper``: dim 48, blocks [4, 6, 6, 8], heads [1, 2, 4, 8], 4 refinement blocks (26.1 M
    backbone parameters). ``small``: dim 16, one block per level, 1 refinement block (0.8 M),
    trains on a CPU in minutes. Guided modules: :data:`RESTORMER_LAYERS`; inputs are padded to
    a multiple of 8; cross-attention on every level.

    Args:
        preset: ``"paper"`` or ``"small"``.
        semantic_encoder: The frozen semantic encoder (see :func:`~perceive_ir.retrofit.wrap.wrap_backbone`);
            ``None`` for CFE-only guidance.
        backbone_kwargs: Override Restormer constructor arguments of the preset.
        **kwargs: More :func:`~perceive_ir.retrofit.wrap.wrap_backbone` arguments (``cond_dim``,
            ``condition``, ``probe_size``, ...); they override the preset's.

    Returns:
        The wrapped network; ``model.backbone`` is the spandrel ``Restormer``.

    Raises:
        ValueError: unknown ``preset``.

    Example:
        >>> model = perceive_ir_restormer("small", semantic_encoder=None, probe_size=16)
        >>> model.hooked_layers
        ('latent', 'decoder_level3', 'decoder_level2', 'decoder_level1')
        >>> model.multiple
        8
    """
    backbone = restormer_backbone(preset, **dict(backbone_kwargs or {}))
    options = {**RESTORMER_WRAP, **_current_spellings(kwargs, "perceive_ir_restormer")}
    return wrap_backbone(backbone, semantic_encoder=semantic_encoder, **options)


def perceive_ir_nafnet(
    preset: str = "paper",
    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
    *,
    backbone_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> WrappedBackbone:
    """NAFNet (spandrel) with Perceive-IR guidance at four levels.

    ``paper``: width 32, encoder blocks [2, 2, 4, 8], 12 middle blocks, decoder blocks
    [2, 2, 2, 2] (NAFNet-width32, 29.2 M parameters). ``small``: width 16, one block
    everywhere (1.1 M). Guided modules: :data:`NAFNET_LAYERS`; inputs are padded to a multiple
    of 16 (four downsamplings); cross-attention on every level.

    Args:
        preset: ``"paper"`` or ``"small"``.
        semantic_encoder: The frozen semantic encoder, or ``None`` for CFE-only guidance.
        backbone_kwargs: Override NAFNet constructor arguments of the preset.
        **kwargs: More :func:`~perceive_ir.retrofit.wrap.wrap_backbone` arguments; they override the preset's.

    Returns:
        The wrapped network; ``model.backbone`` is the spandrel ``NAFNet``.

    Raises:
        ValueError: unknown ``preset``.

    Example:
        >>> model = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32)
        >>> model.hooked_layers
        ('middle_blks', 'decoders.0', 'decoders.1', 'decoders.2')
    """
    backbone = nafnet_backbone(preset, **dict(backbone_kwargs or {}))
    options = {**NAFNET_WRAP, **_current_spellings(kwargs, "perceive_ir_nafnet")}
    return wrap_backbone(backbone, semantic_encoder=semantic_encoder, **options)


register_model("restormer", lambda **kw: restormer_backbone("paper", **kw), wrap=RESTORMER_WRAP)
register_model("restormer-small", lambda **kw: restormer_backbone("small", **kw), wrap=RESTORMER_WRAP)
register_model("nafnet", lambda **kw: nafnet_backbone("paper", **kw), wrap=NAFNET_WRAP)
register_model("nafnet-small", lambda **kw: nafnet_backbone("small", **kw), wrap=NAFNET_WRAP)
register_model("amirnet", amirnet)
register_model("perceiveirnet", PerceiveIRNet)
