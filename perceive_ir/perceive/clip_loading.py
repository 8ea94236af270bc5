"""Build the frozen CLIP model of the quality perceiver with open_clip.

``clip_model`` may be an open_clip model name (``"ViT-B-32"``), a schema id
(``"hf-hub:org/repo"``, ``"local-dir:/path"``) or an open_clip config dict
(``{"embed_dim", "vision_cfg", "text_cfg"}``): random weights (what the offline tests use), or
the weights of a local state-dict file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from torch import Tensor, nn

from .._files import read_safetensors, safe_torch_load
from .._hub_access import hub_access, unavailable_error
from ..errors import InvalidTypeError, InvalidValueError, PerceiveIRError

__all__ = ["LoadedClip", "load_clip", "portable_clip_source", "ClipLoadError"]


class ClipLoadError(PerceiveIRError, RuntimeError):
    """open_clip could not build or fetch the requested CLIP model."""


@dataclass
class LoadedClip:
    """A CLIP model with what is needed to feed it.

    Attributes:
        model: The open_clip ``CLIP`` module.
        tokenizer: Callable mapping a list of strings to ``(N, context_length)`` token ids.
        mean: Per-channel normalisation mean.
        std: Per-channel normalisation std.
        image_size: ``(H, W)`` the vision tower expects.
        has_source: ``True`` when the weights can be rebuilt from their source (a pretrained
            tag, an ``hf-hub:`` or ``local-dir:`` id); ``False`` for random weights, which then
            have to be saved with the module.
    """

    model: nn.Module
    tokenizer: Callable[[list[str]], Tensor]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    image_size: tuple[int, int]
    has_source: bool


def _as_pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    return (int(size[0]), int(size[1]))


def _load_weights_file(model: nn.Module, path: str) -> None:
    """Load a local CLIP state dict (safetensors, or a weights-only torch file) strictly, as float32."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise InvalidValueError(
            f"`clip_pretrained` must be None or an existing weights file when `clip_model` is a config dict, "
            f"got {path!r} (no such file)."
        )
    what = "a CLIP state dict"
    try:
        state = read_safetensors(file, what) if file.suffix == ".safetensors" else safe_torch_load(file, what)
    except ValueError as err:  # truncated, another format, NaN weights, or a pickle that would run code
        raise ClipLoadError(
            f"{err} Expected a .safetensors file or a torch.save'd dict of tensors (TorchScript archives are "
            "not read: they need full unpickling; convert them to safetensors once)."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ClipLoadError(f"{file}: expected a dict of tensors (a CLIP state dict), found {type(state).__name__}.")
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as err:
        raise ClipLoadError(f"{file}: the weights do not fit the `clip_model` config: {err}") from None


def _from_config_dict(config: dict[str, Any], weights: str | None) -> LoadedClip:
    import open_clip

    missing = [k for k in ("embed_dim", "vision_cfg", "text_cfg") if k not in config]
    if missing:
        raise InvalidValueError(
            f"`clip_model` config dict lacks keys {missing}; expected embed_dim, vision_cfg, text_cfg."
        )
    cfg = copy.deepcopy(config)
    if cfg.pop("custom_text", False) or "hf_model_name" in cfg["text_cfg"]:
        raise InvalidValueError(
            "`clip_model` config dicts with a Hugging Face text tower are not supported: the prompt "
            "learner needs open_clip's own text transformer."
        )
    model = open_clip.CLIP(**cfg)
    if weights is not None:
        _load_weights_file(model, weights)
    context_length = int(cfg["text_cfg"].get("context_length", 77))
    return LoadedClip(
        model=model,
        tokenizer=open_clip.tokenizer.SimpleTokenizer(context_length=context_length),
        mean=tuple(open_clip.OPENAI_DATASET_MEAN),
        std=tuple(open_clip.OPENAI_DATASET_STD),
        image_size=_as_pair(model.visual.image_size),
        has_source=weights is not None,
    )


def portable_clip_source(
    clip_model: str | dict[str, Any], clip_pretrained: str | None
) -> tuple[str | dict[str, Any], str | None]:
    """``clip_model`` / ``clip_pretrained`` as a saved config should hold them, valid from any folder.

    A ``clip_model`` naming a ``.json`` file becomes the open_clip config dict it holds, and a
    ``clip_pretrained`` naming an existing local file becomes its absolute path; names, tags and
    Hub ids stay as they are.

    Raises:
        ValueError: a ``.json`` ``clip_model`` that cannot be read as a JSON object.

    Example:
        >>> portable_clip_source("ViT-B-32", "openai")
        ('ViT-B-32', 'openai')
    """
    if isinstance(clip_model, str) and clip_model.lower().endswith(".json") and not clip_model.startswith(
        ("hf-hub:", "local-dir:")
    ):
        try:
            config = json.loads(Path(clip_model).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InvalidValueError(
                f"`clip_model` {clip_model}: cannot read an open_clip config from it ({err})."
            ) from None
        if not isinstance(config, dict):
            raise InvalidValueError(f"`clip_model` {clip_model}: expected a JSON object (an open_clip model config).")
        clip_model = config
    if isinstance(clip_pretrained, str) and Path(clip_pretrained).is_file():
        clip_pretrained = str(Path(clip_pretrained).resolve())
    return clip_model, clip_pretrained


def load_clip(clip_model: str | dict[str, Any], clip_pretrained: str | None) -> LoadedClip:
    """Build a CLIP model with open_clip.

    Args:
        clip_model: Model name, ``hf-hub:``/``local-dir:`` id, or a config dict.
        clip_pretrained: open_clip pretrained tag or checkpoint path for a plain model name;
            ``None`` for random weights. Must be ``None`` with a schema id. With a config dict:
            ``None`` (random weights) or a local state-dict file (``.safetensors``, or a
            ``torch.save`` dict of tensors read with ``weights_only=True``) loaded strictly.

    Returns:
        The model (in eval mode) and its preprocessing facts.

    Raises:
        ClipLoadError: open_clip could not build the model or fetch its weights.
        ValueError: bad arguments.

    Example:
        >>> clip = load_clip({"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1,
        ...     "width": 32, "patch_size": 16, "head_width": 16}, "text_cfg": {"context_length": 77,
        ...     "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1}}, None)
        >>> clip.image_size, clip.has_source
        ((32, 32), False)
    """
    import open_clip  # imported here: it pulls in torchvision and takes seconds

    if isinstance(clip_model, dict):
        return _from_config_dict(clip_model, clip_pretrained)
    if not isinstance(clip_model, str) or not clip_model:
        raise InvalidTypeError(
            f"`clip_model` must be an open_clip model name, an 'hf-hub:'/'local-dir:' id or a config dict, "
            f"got {type(clip_model).__name__}."
        )
    has_schema = clip_model.startswith(("hf-hub:", "local-dir:"))
    if has_schema and clip_pretrained is not None:
        raise InvalidValueError(
            f"`clip_pretrained` must be None with a schema id like {clip_model!r}: the id names the weights."
        )
    kwargs: dict[str, Any] = {}
    if not has_schema and clip_pretrained is not None:
        # the OpenAI weights were trained with QuickGELU; open_clip's plain configs use GELU
        tag_cfg = open_clip.get_pretrained_cfg(clip_model, clip_pretrained)
        model_cfg = open_clip.get_model_config(clip_model) or {}
        if tag_cfg.get("quick_gelu", False) and not model_cfg.get("quick_gelu", False):
            kwargs["force_quick_gelu"] = True
    with hub_access() as unavailable:
        try:
            model = open_clip.create_model(clip_model, pretrained=clip_pretrained, **kwargs)
            tokenizer = open_clip.get_tokenizer(clip_model)
        except Exception as err:  # open_clip raises RuntimeError, OSError, HTTP errors...
            if unavailable is not None:
                raise ClipLoadError(str(unavailable_error(
                    f"CLIP {clip_model!r} with pretrained={clip_pretrained!r}", unavailable,
                    "pass a local weights file (`clip_pretrained=FILE`, `--clip-pretrained FILE`) or run once "
                    "with network to cache it",
                ))) from err
            raise ClipLoadError(
                f"open_clip could not build CLIP {clip_model!r} with pretrained={clip_pretrained!r}: {err}. "
                "Without network access, the weights must already be in the Hugging Face cache; for offline "
                "tests pass an open_clip config dict as `clip_model` with `clip_pretrained=None`."
            ) from err
    if not isinstance(model, open_clip.CLIP):
        raise InvalidValueError(
            f"{clip_model!r} builds a {type(model).__name__}; the quality perceiver needs a standard open_clip "
            "CLIP (its prompt learner drives open_clip's own text transformer)."
        )
    pp = getattr(model.visual, "preprocess_cfg", None) or {}
    mean = tuple(pp.get("mean", open_clip.OPENAI_DATASET_MEAN))
    std = tuple(pp.get("std", open_clip.OPENAI_DATASET_STD))
    return LoadedClip(
        model=model.eval(),
        tokenizer=tokenizer,
        mean=mean,
        std=std,
        image_size=_as_pair(model.visual.image_size),
        has_source=has_schema or clip_pretrained is not None,
    )
