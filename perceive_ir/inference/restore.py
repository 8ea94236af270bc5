"""Restore images of any size with any network, tile by tile, with whole-image guidance.

:func:`restore` pads to the network's multiple, optionally cuts the image into overlapping
tiles (blended by :func:`~perceive_ir.inference.tiling.tiled_apply`, at output resolution for a
super-resolution network), and crops back. A network that returns a tuple, list or dict gives
its image (:func:`~perceive_ir.inference.outputs.select_image`). For a
:class:`~perceive_ir.retrofit.wrap.WrappedBackbone` or the authors' ``PerceiveIRNet`` the guidance
(degradation condition and semantic features) is computed once per image on the *whole* image
and shared by all its tiles, so a tile sees the same conditioning it would see without tiling.

``mode`` selects the Perceive-IR authors' own inference paths instead, for numbers comparable
with theirs (:mod:`perceive_ir.inference.authors_paths`): ``"authors-direct"`` (their published
``adair3``/``adair5`` evaluator: replicate padding, guidance on the padded whole image) and
``"authors-tiled"`` (their tiled evaluator: guidance per tile, reflect padding per tile,
uniform average of clamped tiles).

The model may be a network, its :class:`~perceive_ir.models.descriptor.ModelDescriptor` (from
:func:`~perceive_ir.models.load_model`: its multiple and scale are read, not re-inferred) or a
model source. How it runs — tiles, overlap, device, precision — is one
:class:`~perceive_ir.inference.tiling_spec.TilingSpec` (``tiling=``), or the same values as
loose keywords.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from math import lcm
from typing import Literal

import torch
from torch import Tensor, nn

from .._validation import check_image, module_device
from ..errors import InvalidTypeError, InvalidValueError
from ..models.descriptor import ModelDescriptor, describe_module
from ..models.factory import load_model, model_multiple
from .authors_paths import restore_direct, restore_per_tile
from .compiled import FastDtype, FastOptions, FastPath, fast_path
from .outputs import OutputKey, select_image
from .tiling import tiled_apply
from .tiling_spec import DEFAULT_OVERLAP, TilingSpec, check_tile_multiple

__all__ = ["MODES", "RestoreMode", "TilingSpec", "model_multiple", "restore"]

RestoreMode = Literal["whole", "authors-direct", "authors-tiled"]

#: The values of ``restore(mode=...)``.
MODES: tuple[str, ...] = ("whole", "authors-direct", "authors-tiled")

#: The authors' evaluators pad to multiples of 8 (``evaluate_stage2*.py``).
_AUTHORS_MULTIPLE = 8


def restore(
    model: nn.Module | ModelDescriptor | str | os.PathLike[str],
    image: Tensor,
    *,
    tiling: TilingSpec | None = None,
    tile: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    device: str | torch.device | None = None,
    half: bool = False,
    progress: bool = False,
    multiple: int | None = None,
    output: OutputKey = None,
    scale: int | None = None,
    mode: RestoreMode = "whole",
    compile: bool = False,
    channels_last: bool = False,
    dtype: FastDtype = "fp32",
) -> Tensor:
    """Restore ``image`` with ``model``, whole or in overlapping tiles.

    Args:
        model: A :class:`~perceive_ir.retrofit.wrap.WrappedBackbone` or any ``nn.Module`` mapping
            ``(B, 3, h, w)`` to ``(B, 3, k·h, k·w)`` (``k`` = 1 for restoration, the scale of a
            super-resolution network), or to a tuple, list or dict holding that image. It runs
            in eval mode (its mode is restored after).
            A :class:`~perceive_ir.models.descriptor.ModelDescriptor` gives its multiple and scale.
            A string or path is resolved with :func:`~perceive_ir.models.load_model` (a folder,
            a checkpoint file, a preset name or a Hub id).
        image: ``(3, H, W)`` or ``(B, 3, H, W)`` float image(s) in ``[0, 1]``, any size.
        tiling: How to run it, all at once (:class:`~perceive_ir.inference.tiling_spec.TilingSpec`);
            ``None``: from the keywords below, which must then be left alone.
        tile: Tile side in pixels (a multiple of the model's multiple; any side in ``"authors-tiled"``
            mode, where each tile is padded), or ``None`` for the whole image.
        overlap: Overlap between tiles in pixels (blended with smooth weights).
        device: Where to compute (``"cpu"``, ``"cuda"``, ...). ``None``: the model's device.
            The model is moved there (``nn.Module.to`` moves it in place).
        half: Compute in float16 autocast; CUDA only.
        progress: Show a tqdm bar over the tiles.
        multiple: Pad inputs to a multiple of this; default the descriptor's multiple
            (``model.multiple`` for a wrapped network, else 1: give it for plain networks that
            need one, e.g. 8 for a bare Restormer).
        output: Which part of a tuple/list/dict output is the image (an index or key); ``None``:
            the first image-shaped tensor (see :func:`~perceive_ir.inference.outputs.select_image`).
        scale: The network's integer scale; ``None``: the descriptor's, else inferred from its
            output on the first tile.
        mode: ``"whole"`` [ours: guidance once on the whole unpadded image, shared by smoothly
            blended tiles, reflect padding]; ``"authors-direct"`` [paper: authors
            ``evaluate_stage2_adair.py`` ``restore_direct``: replicate-pad right/bottom to a
            multiple of 8, the network and its guidance on the padded image; ``tile`` must be
            ``None``]; ``"authors-tiled"`` [paper: authors ``evaluate_stage2.py``
            ``restore_tiled``: tiles every ``tile - overlap`` px, each reflect-padded to 8 and
            guided by itself, clamped, averaged uniformly; ``tile=None`` is one tile of the
            whole image]. In the authors' modes inputs are padded to the least common
            multiple of 8 and ``multiple`` (or the model's), and the output must be the input's size.
        compile: Run the network through ``torch.compile``, once per process and input shape
            (a tiled restore: once per tile size); the first call's compile time is logged
            (:mod:`perceive_ir.inference.compiled`). Outputs within 1e-5 of eager.
        channels_last: Channels-last memory for the network's weights (converted in place) and inputs.
        dtype: ``"fp32"``, or ``"bf16"`` for bfloat16 autocast (CPU or CUDA; within 2e-2 of float32).

    Returns:
        The restored image(s) — ``image``'s shape with height and width times the scale (the
        same shape for restoration), ``image``'s dtype and device (computed in float32, or
        float16 autocast with ``half``). Values are not clamped, except in ``"authors-tiled"``
        mode (each tile is clamped to ``[0, 1]`` before averaging, as the authors do).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``; ``image`` is not a float tensor.
        ValueError: bad ``image`` shape or values, ``tile``/``overlap``/``multiple``/``scale``/``mode``/``dtype``,
            ``half`` off CUDA or with ``dtype="bf16"``, ``tiling`` together with loose keywords, or an output
            that is not the input scaled by one integer factor.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from perceive_ir import wrap_backbone
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
        >>> model = wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16)
        >>> image = torch.rand(3, 70, 90)
        >>> restore(model, image, tile=48, overlap=16).shape
        torch.Size([3, 70, 90])
        >>> restore(model, image, tiling=TilingSpec(tile=48, overlap=16)).shape  # the same, as one object
        torch.Size([3, 70, 90])
        >>> sr = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))  # a x2 network
        >>> restore(sr, image, tile=48, overlap=16).shape
        torch.Size([3, 140, 180])
        >>> restore(model, image, tile=48, overlap=16, mode="authors-tiled").shape  # guidance per tile
        torch.Size([3, 70, 90])
    """
    _check_mode(mode, tiling.tile if isinstance(tiling, TilingSpec) else tile)
    spec = _spec(tiling, tile=tile, overlap=overlap, device=device, half=half, progress=progress,
                 multiple=multiple, output=output, scale=scale)
    described = _describe(model)
    batch, single = _batch(image, guided=described.guided)
    plan = _plan(described, spec, mode, batch)
    fast = FastOptions(compile=compile, channels_last=channels_last, dtype=dtype)
    out = _run(described.module, batch, plan, fast)
    out = out.to(image.device, image.dtype)
    return out[0] if single else out


def _check_mode(mode: object, tile: object) -> None:
    """``mode`` is one of :data:`MODES`, and ``"authors-direct"`` has no tile."""
    if mode not in MODES:
        raise InvalidValueError(f"`mode` must be one of {list(MODES)}, got {mode!r}.")
    if mode == "authors-direct" and tile is not None:
        raise InvalidValueError(
            f"`tile` must be None with mode='authors-direct' (one whole-image forward), got {tile!r}; "
            "use mode='authors-tiled' for the authors' tiled evaluator."
        )


def _spec(tiling: TilingSpec | None, **loose: object) -> TilingSpec:
    """The one :class:`TilingSpec`: ``tiling``, or the loose keywords (checked when it is made)."""
    if tiling is None:
        return TilingSpec(**loose)  # type: ignore[arg-type]  # TilingSpec checks each value
    if not isinstance(tiling, TilingSpec):
        raise InvalidTypeError(f"`tiling` must be a TilingSpec or None, got {type(tiling).__name__}.")
    given = sorted(name for name, value in loose.items() if value != getattr(TilingSpec(), name))
    if given:
        raise InvalidValueError(f"Give `tiling` or the loose keywords, not both: `tiling` with {given}.")
    return tiling


def _describe(model: object) -> ModelDescriptor:
    """The model's descriptor: as given, loaded from a source, or read off a module."""
    if isinstance(model, ModelDescriptor):
        return model
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    if not isinstance(model, nn.Module):
        raise InvalidTypeError(
            f"`model` must be a torch.nn.Module, a ModelDescriptor or a model source for load_model, "
            f"got {type(model).__name__}."
        )
    return describe_module(model)


def _batch(image: object, *, guided: bool) -> tuple[Tensor, bool]:
    """``image`` as a checked ``(B, 3, H, W)`` batch, and whether it was one image."""
    if not isinstance(image, Tensor):
        raise InvalidTypeError(f"`image` must be a (3, H, W) or (B, 3, H, W) tensor, got {type(image).__name__}.")
    single = image.ndim == 3
    batch = image.unsqueeze(0) if single else image
    # a guided model's guidance needs 2×2 pixels: say so about `image`, not the model's `degraded`
    check_image(batch, "image", min_size=2 if guided else 1)
    return batch, single


@dataclass(frozen=True)
class _Plan:
    """What :func:`_run` does: the settings with the model's facts filled in."""

    spec: TilingSpec
    mode: RestoreMode
    multiple: int
    scale: int | None
    device: torch.device


def _plan(described: ModelDescriptor, spec: TilingSpec, mode: str, batch: Tensor) -> _Plan:
    """Fill the model's multiple, scale and device into ``spec`` and check what depends on them."""
    multiple = described.multiple if spec.multiple is None else spec.multiple
    if mode != "whole":  # the authors pad to multiples of 8, whatever else the network needs
        multiple = lcm(multiple, _AUTHORS_MULTIPLE)
    if mode == "whole" and spec.tile is not None:
        check_tile_multiple(spec.tile, multiple, what="the model's multiple")
    device = spec.target_device(module_device(described.module) or batch.device)
    scale = spec.scale if spec.scale is not None else described.scale
    return _Plan(spec, mode, multiple, scale, device)  # type: ignore[arg-type]  # mode checked above


def _run(model: nn.Module, batch: Tensor, plan: _Plan, fast: FastOptions) -> Tensor:
    """Run ``model`` on ``batch`` as ``plan`` says, in eval mode and inference mode (its mode restored)."""
    spec = plan.spec
    if spec.half and fast.dtype != "fp32":
        raise InvalidValueError(f"`half=True` (float16) and `dtype={fast.dtype!r}` exclude each other; give one.")
    model.to(plan.device)
    net: nn.Module | FastPath = fast_path(model, **fast.as_kwargs()) if fast.active else model
    was_training = model.training
    model.eval()
    autocast = torch.autocast(device_type="cuda", dtype=torch.float16) if spec.half else contextlib.nullcontext()
    try:
        with torch.inference_mode(), autocast:
            x = batch.to(plan.device, torch.float32)
            # the authors' paths: the network, and so its guidance, sees exactly what it restores
            run = _tile_function(net, x, spec.output) if plan.mode == "whole" else _plain_function(net, spec.output)
            fn = (lambda t: run(t).float()) if spec.half else run  # blend in float32
            return _apply(fn, x, plan)
    finally:
        model.train(was_training)


def _apply(fn: Callable[[Tensor], Tensor], x: Tensor, plan: _Plan) -> Tensor:
    """The tiling of ``plan.mode`` around ``fn``."""
    spec, multiple = plan.spec, plan.multiple
    h, w = x.shape[-2:]
    overlap = spec.overlap if spec.tile is not None else 0
    if plan.mode == "authors-direct":
        return restore_direct(fn, x, multiple)
    if plan.mode == "authors-tiled":
        side = spec.tile if spec.tile is not None else max(h, w)
        return restore_per_tile(fn, x, tile=side, overlap=overlap, multiple=multiple, progress=spec.progress)
    side = spec.tile if spec.tile is not None else -(-max(h, w) // multiple) * multiple
    return tiled_apply(fn, x, tile=side, overlap=overlap, multiple=multiple, progress=spec.progress, scale=plan.scale)


def _is_guided(model: nn.Module | FastPath) -> bool:
    """Whether ``model`` computes whole-image guidance apart (``compute_guidance`` + ``forward_with_guidance``)."""
    return all(callable(getattr(model, name, None)) for name in ("compute_guidance", "forward_with_guidance"))


def _plain_function(model: nn.Module | FastPath, output: OutputKey) -> Callable[[Tensor], Tensor]:
    """The network on each padded tile, guidance and all (the authors' evaluators), its image output."""
    return lambda tiles: select_image(model(tiles), tiles, output)


def _tile_function(model: nn.Module | FastPath, whole: Tensor, output: OutputKey) -> Callable[[Tensor], Tensor]:
    """What runs on each tile: the network (with the whole image's guidance for a guided one), its image output.

    A guided network (a :class:`~perceive_ir.retrofit.wrap.WrappedBackbone`, the authors'
    :class:`~perceive_ir.models.official.PerceiveIRNet`, or any module with both methods)
    exposes ``compute_guidance(whole)`` and ``forward_with_guidance(tile, guidance)``.
    """
    if _is_guided(model):
        compute: Callable[[Tensor], object] = getattr(model, "compute_guidance")  # noqa: B009  # a duck-typed method
        forward: Callable[[Tensor, object], object] = getattr(model, "forward_with_guidance")  # noqa: B009
        guidance = compute(whole)  # once per image, shared by every tile
        return lambda tiles: select_image(forward(tiles, guidance), tiles, output)
    return lambda tiles: select_image(model(tiles), tiles, output)
