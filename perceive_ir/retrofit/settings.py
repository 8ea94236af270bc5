"""``GuidanceSettings``: what the guidance added by ``wrap_backbone`` is made of, in one frozen object.

The semantic encoder, the layers it is read at, the condition size and the FiLM heads' shape
travel together through the presets, the recipes and saved configs; grouping them keeps
:class:`~perceive_ir.retrofit.wrap.WrappedBackbone`'s constructor short and validates them once.
The same fields are accepted as keywords of ``wrap_backbone`` (they override the object's).

Example:
    >>> settings = GuidanceSettings(semantic_encoder=None, cond_dim=16)
    >>> settings.replace(hidden_dim=32).hidden_dim, settings.cond_dim
    (32, 16)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypedDict

from .._defaults import DEFAULT_SEMANTIC_ENCODER
from .._validation import check_int
from ..errors import InvalidTypeError, InvalidValueError
from ..perceive.semantic import EncoderSpec

__all__ = ["GuidanceOptions", "GuidanceSettings"]


@dataclasses.dataclass(frozen=True)
class GuidanceSettings:
    """The guidance a wrapped network gets: frozen semantic encoder, condition size, FiLM heads.

    Attributes:
        semantic_encoder: The frozen semantic encoder: a Hub id or local folder (referenced by
            id + revision in saved files), a transformers config or config dict (random init;
            tests, offline), an in-memory transformers model (configs and models are saved with
            their weights), or ``None`` for CFE-only guidance (the FiLM heads see ``z`` alone).
        semantic_encoder_revision: Hub revision of ``semantic_encoder``.
        semantic_layers: Encoder layer per guided level; ``None``: the paper's depths (1, 4, 8,
            12 of 12), deepest to the first (coarsest) level.
        cond_dim: Size of the built-in CFE embedding (used when the condition is the CFE).
        hidden_dim: Hidden width of each FiLM head.
        image_size: Side of the square the semantic encoder sees.
        cross_attention: Follow each level's FiLM with a channel cross-attention: a bool for all
            levels or one bool per level.

    Raises:
        ValueError: a non-positive size, ``semantic_layers`` without an encoder, a revision that
            is not a string.

    Example:
        >>> GuidanceSettings(semantic_encoder=None, semantic_layers=(1,))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: `semantic_layers` needs a `semantic_encoder`; ...
    """

    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER
    semantic_encoder_revision: str | None = None
    semantic_layers: tuple[int, ...] | None = None
    cond_dim: int = 128
    hidden_dim: int = 256
    image_size: int = 224
    cross_attention: bool | tuple[bool, ...] = False

    def __post_init__(self) -> None:
        check_int(self.cond_dim, "cond_dim")
        check_int(self.hidden_dim, "hidden_dim")
        check_int(self.image_size, "image_size", minimum=14)  # one DINOv2 patch
        if self.semantic_encoder_revision is not None and not isinstance(self.semantic_encoder_revision, str):
            raise InvalidValueError(
                f"`semantic_encoder_revision` must be None or a string, got {self.semantic_encoder_revision!r}."
            )
        if self.semantic_encoder is None and self.semantic_layers is not None:
            raise InvalidValueError("`semantic_layers` needs a `semantic_encoder`; it is None (CFE-only guidance).")
        for name in ("semantic_layers", "cross_attention"):  # lists from configs and recipes, kept as tuples
            value = getattr(self, name)
            if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
                object.__setattr__(self, name, tuple(value))

    def replace(self, **changes: Any) -> GuidanceSettings:
        """A copy with ``changes`` (field names) applied, validated again.

        Raises:
            TypeError: a name that is not a field (the message lists them).
        """
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InvalidTypeError(
                f"Unknown guidance setting(s) {unknown}; the settings are "
                f"{[f.name for f in dataclasses.fields(self)]}."
            )
        return dataclasses.replace(self, **changes)


class GuidanceOptions(TypedDict, total=False):
    """The :class:`GuidanceSettings` fields as keywords of ``wrap_backbone`` (each optional).

    Two deprecated spellings are accepted for one release (with a ``DeprecationWarning``):
    ``encoder_revision`` (``semantic_encoder_revision``) and ``pad_to`` (``wrap_backbone``'s
    ``multiple``).
    """

    semantic_encoder: EncoderSpec
    semantic_encoder_revision: str | None
    semantic_layers: Sequence[int] | None
    cond_dim: int
    hidden_dim: int
    image_size: int
    cross_attention: bool | Sequence[bool]
    encoder_revision: str | None  # deprecated spelling of semantic_encoder_revision
    pad_to: int | None  # deprecated spelling of wrap_backbone's multiple
