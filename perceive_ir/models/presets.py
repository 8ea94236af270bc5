"""Reference models: Perceive-IR guidance on spandrel's Restormer and NAFNet, one call each.

Every preset builds the bare network from spandrel (``spandrel_extra_arches`` for Restormer)
and wraps it with the public :func:`~perceive_ir.wrap.wrap_backbone` at the latent and the
three decoder levels below it, with channel cross-attention after each FiLM.

========================  ==================================================================
preset                    hooked modules (``model.hooked_layers``)
========================  ==================================================================
``restormer`` (paper)     ``latent``, ``decoder_level3``, ``decoder_level2``, ``decoder_level1``
``restormer-small``       same names
``nafnet`` (paper)        ``middle_blks``, ``decoders.0``, ``decoders.1``, ``decoders.2``
``nafnet-small``          same names
========================  ==================================================================

:func:`build_model` looks presets up by name (for recipe configs); :func:`register_model`
adds more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from ..semantic import EncoderSpec
from ..wrap import WrappedBackbone, wrap_backbone

__all__ = [
    "NAFNET_LAYERS",
    "NAFNET_PRESETS",
    "RESTORMER_LAYERS",
    "RESTORMER_PRESETS",
    "build_model",
    "list_models",
    "perceive_ir_nafnet",
    "perceive_ir_restormer",
    "register_model",
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
        raise ValueError(f"`preset` of {what} must be one of {sorted(table)}, got {preset!r}.")
    return dict(table[preset])


def perceive_ir_restormer(
    preset: str = "paper",
    semantic_encoder: EncoderSpec = "facebook/dinov2-base",
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
        semantic_encoder: The frozen semantic encoder (see :func:`~perceive_ir.wrap.wrap_backbone`);
            ``None`` for CFE-only guidance.
        backbone_kwargs: Override Restormer constructor arguments of the preset.
        **kwargs: More :func:`~perceive_ir.wrap.wrap_backbone` arguments (``cond_dim``,
            ``condition``, ``probe_size``, ...); they override the preset's.

    Returns:
        The wrapped network; ``model.backbone`` is the spandrel ``Restormer``.

    Raises:
        ValueError: unknown ``preset``.

    Example:
        >>> model = perceive_ir_restormer("small", semantic_encoder=None, probe_size=16)
        >>> model.hooked_layers
        ('latent', 'decoder_level3', 'decoder_level2', 'decoder_level1')
        >>> model.pad_to
        8
    """
    try:
        from spandrel_extra_arches.architectures.Restormer import Restormer
    except ImportError as err:  # pragma: no cover - installed in development
        raise ImportError(f"perceive_ir_restormer: {_BACKBONES_HINT} (Restormer is in spandrel-extra-arches).") from err

    arch = {**_preset(RESTORMER_PRESETS, preset, "perceive_ir_restormer"), **dict(backbone_kwargs or {})}
    options: dict[str, Any] = {"layers": list(RESTORMER_LAYERS), "cross_attention": True, "pad_to": 8, **kwargs}
    return wrap_backbone(Restormer(**arch), semantic_encoder=semantic_encoder, **options)


def perceive_ir_nafnet(
    preset: str = "paper",
    semantic_encoder: EncoderSpec = "facebook/dinov2-base",
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
        **kwargs: More :func:`~perceive_ir.wrap.wrap_backbone` arguments; they override the preset's.

    Returns:
        The wrapped network; ``model.backbone`` is the spandrel ``NAFNet``.

    Raises:
        ValueError: unknown ``preset``.

    Example:
        >>> model = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32)
        >>> model.hooked_layers
        ('middle_blks', 'decoders.0', 'decoders.1', 'decoders.2')
    """
    try:
        from spandrel.architectures.NAFNet import NAFNet
    except ImportError as err:  # pragma: no cover - installed in development
        raise ImportError(f"perceive_ir_nafnet: {_BACKBONES_HINT}.") from err

    arch = {**_preset(NAFNET_PRESETS, preset, "perceive_ir_nafnet"), **dict(backbone_kwargs or {})}
    options: dict[str, Any] = {"layers": list(NAFNET_LAYERS), "cross_attention": True, "pad_to": 16, **kwargs}
    return wrap_backbone(NAFNet(**arch), semantic_encoder=semantic_encoder, **options)


_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "restormer": lambda **kw: perceive_ir_restormer("paper", **kw),
    "restormer-small": lambda **kw: perceive_ir_restormer("small", **kw),
    "nafnet": lambda **kw: perceive_ir_nafnet("paper", **kw),
    "nafnet-small": lambda **kw: perceive_ir_nafnet("small", **kw),
}


def register_model(name: str, factory: Callable[..., nn.Module], *, overwrite: bool = False) -> None:
    """Make ``build_model(name, **kwargs)`` call ``factory(**kwargs)``.

    Raises:
        ValueError: ``name`` is taken (and ``overwrite`` is False) or not a non-empty string.
        TypeError: ``factory`` is not callable.

    Example:
        >>> from torch import nn
        >>> register_model("identity-demo", lambda **kw: nn.Identity(), overwrite=True)
        >>> type(build_model("identity-demo")).__name__
        'Identity'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string, got {name!r}.")
    if not callable(factory):
        raise TypeError(f"`factory` must be callable, got {type(factory).__name__}.")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"A model called {name!r} is already registered; pass overwrite=True to replace it.")
    _REGISTRY[name] = factory


def list_models() -> list[str]:
    """Names :func:`build_model` knows.

    Example:
        >>> "restormer-small" in list_models()
        True
    """
    return sorted(_REGISTRY)


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model by name (``restormer``, ``restormer-small``, ``nafnet``, ``nafnet-small``).

    Args:
        name: The registered name.
        **kwargs: Passed to the preset function (e.g. ``semantic_encoder=None``).

    Raises:
        ValueError: unknown name (the message lists the known ones).

    Example:
        >>> build_model("nafnet-small", semantic_encoder=None, probe_size=32).pad_to
        16
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}; known: {list_models()} (add one with register_model).")
    return _REGISTRY[name](**kwargs)
