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
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from math import lcm
from typing import Any, Literal

import torch
from torch import Tensor, nn

from .._validation import check_image, check_int, module_device
from ..errors import InvalidTypeError, InvalidValueError
from ..models.factory import load_model, model_multiple
from .authors_paths import restore_direct, restore_per_tile
from .compiled import FastDtype, FastPath, fast_path
from .outputs import OutputKey, select_image
from .tiling import tiled_apply

__all__ = ["MODES", "RestoreMode", "restore"]

RestoreMode = Literal["whole", "authors-direct", "authors-tiled"]

#: The values of ``restore(mode=...)``.
MODES: tuple[str, ...] = ("whole", "authors-direct", "authors-tiled")

#: The authors' evaluators pad to multiples of 8 (``evaluate_stage2*.py``).
_AUTHORS_MULTIPLE = 8


def _resolve_device(model: nn.Module, device: str | torch.device | None, image: Tensor) -> torch.device:
    if device is not None:
        try:
            return torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise InvalidValueError(
                f"`device` must name a torch device (e.g. 'cpu', 'cuda:0'), got {device!r}."
            ) from err
    return module_device(model) or image.device


def restore(
    model: nn.Module | str | os.PathLike[str],
    image: Tensor,
    *,
    tile: int | None = None,
    overlap: int = 32,
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
            A string or path is resolved with :func:`~perceive_ir.models.load_model` (a folder,
            a checkpoint file, a preset name or a Hub id).
        image: ``(3, H, W)`` or ``(B, 3, H, W)`` float image(s) in ``[0, 1]``, any size.
        tile: Tile side in pixels (a multiple of the model's multiple; any side in ``"authors-tiled"``
            mode, where each tile is padded), or ``None`` for the whole image.
        overlap: Overlap between tiles in pixels (blended with smooth weights).
        device: Where to compute (``"cpu"``, ``"cuda"``, ...). ``None``: the model's device.
            The model is moved there (``nn.Module.to`` moves it in place).
        half: Compute in float16 autocast; CUDA only.
        progress: Show a tqdm bar over the tiles.
        multiple: Pad inputs to a multiple of this; default ``model.pad_to`` for a wrapped
            network, else 1 (give it for plain networks that need one, e.g. 8 for a bare Restormer).
        output: Which part of a tuple/list/dict output is the image (an index or key); ``None``:
            the first image-shaped tensor (see :func:`~perceive_ir.inference.outputs.select_image`).
        scale: The network's integer scale; ``None``: inferred from its output on the first tile.
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
            ``half`` off CUDA or with ``dtype="bf16"``, or an output that is not the input scaled by one integer factor.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from perceive_ir import wrap_backbone
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
        >>> model = wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16)
        >>> image = torch.rand(3, 70, 90)
        >>> restore(model, image, tile=48, overlap=16).shape
        torch.Size([3, 70, 90])
        >>> sr = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))  # a x2 network
        >>> restore(sr, image, tile=48, overlap=16).shape
        torch.Size([3, 140, 180])
        >>> restore(model, image, tile=48, overlap=16, mode="authors-tiled").shape  # guidance per tile
        torch.Size([3, 70, 90])
    """
    if isinstance(model, (str, os.PathLike)):
        loaded = load_model(model)
        model = loaded.module
        multiple = loaded.multiple if multiple is None else multiple
    if not isinstance(model, nn.Module):
        raise InvalidTypeError(
            f"`model` must be a torch.nn.Module or a model source for load_model, got {type(model).__name__}."
        )
    if not isinstance(image, Tensor):
        raise InvalidTypeError(f"`image` must be a (3, H, W) or (B, 3, H, W) tensor, got {type(image).__name__}.")
    single = image.ndim == 3
    batch = image.unsqueeze(0) if single else image
    # a guided model's guidance needs 2×2 pixels: say so about `image`, not the model's `degraded`
    check_image(batch, "image", min_size=2 if _is_guided(model) else 1)
    if mode not in MODES:
        raise InvalidValueError(f"`mode` must be one of {list(MODES)}, got {mode!r}.")
    if multiple is None:
        multiple = model_multiple(model)
    check_int(multiple, "multiple")
    if mode != "whole":  # the authors pad to multiples of 8, whatever else the network needs
        multiple = lcm(multiple, _AUTHORS_MULTIPLE)
    check_int(tile, "tile", optional=True)
    if mode == "authors-direct" and tile is not None:
        raise InvalidValueError(
            f"`tile` must be None with mode='authors-direct' (one whole-image forward), got {tile!r}; "
            "use mode='authors-tiled' for the authors' tiled evaluator."
        )
    if mode == "whole" and tile is not None and tile % multiple:
        raise InvalidValueError(
            f"`tile` must be None or a positive multiple of {multiple} (the model's multiple), got {tile!r}."
        )
    if tile is not None and (not isinstance(overlap, int) or not 0 <= overlap < tile):
        raise InvalidValueError(f"`overlap` must be an int in [0, tile={tile}), got {overlap!r}.")
    target = _resolve_device(model, device, batch)
    if half and target.type != "cuda":
        raise InvalidValueError(
            f"`half=True` needs a CUDA device; computing on {target}. Use half=False on {target.type}."
        )

    fast = fast_path(model, compile=compile, channels_last=channels_last, dtype=dtype)
    if half and fast.dtype != "fp32":
        raise InvalidValueError(f"`half=True` (float16) and `dtype={dtype!r}` exclude each other; give one.")
    model.to(target)
    was_training = model.training
    model.eval()
    autocast = torch.autocast(device_type="cuda", dtype=torch.float16) if half else contextlib.nullcontext()
    try:
        with torch.inference_mode(), autocast:
            x = batch.to(target, torch.float32)
            # the authors' paths: the network, and so its guidance, sees exactly what it restores
            net = fast if compile or channels_last or fast.dtype != "fp32" else model
            run = _tile_function(net, x, output) if mode == "whole" else _plain_function(net, output)
            fn = (lambda t: run(t).float()) if half else run  # blend in float32
            h, w = x.shape[-2:]
            if mode == "authors-direct":
                out = restore_direct(fn, x, multiple)
            elif mode == "authors-tiled":
                side = tile if tile is not None else max(h, w)
                out = restore_per_tile(fn, x, tile=side, overlap=overlap if tile is not None else 0,
                                       multiple=multiple, progress=progress)
            else:
                side = tile if tile is not None else -(-max(h, w) // multiple) * multiple
                out = tiled_apply(fn, x, tile=side, overlap=overlap if tile is not None else 0,
                                  multiple=multiple, progress=progress, scale=scale)
    finally:
        model.train(was_training)
    out = out.to(image.device, image.dtype)
    return out[0] if single else out


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
        guided: Any = model  # a network or its FastPath, both with the two methods
        guidance = guided.compute_guidance(whole)  # once per image, shared by every tile
        return lambda tiles: select_image(guided.forward_with_guidance(tiles, guidance), tiles, output)
    return lambda tiles: select_image(model(tiles), tiles, output)
