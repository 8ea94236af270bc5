"""One description of a loaded network, from the file it came from to the tile it restores.

A :class:`ModelDescriptor` holds the network and what is known about it: the fields spandrel's
``ImageModelDescriptor`` uses (purpose, scale, input and output channels, size requirements,
tiling, float16 / bfloat16 support) plus Perceive-IR's own (the architecture id, whether the
network computes whole-image guidance, whether it is trained, where it came from).
:func:`~perceive_ir.models.load_model` returns one; :func:`describe_module` describes a network
already in memory. :func:`~perceive_ir.inference.restore`, the evaluation, the export and the web
page read it instead of working the facts out again.

Example:
    >>> from torch import nn
    >>> described = describe_module(nn.Conv2d(3, 3, 3, padding=1))
    >>> described.architecture, described.multiple, described.scale, described.guided
    ('Conv2d', 1, None, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from torch import nn

from ..errors import InvalidTypeError, InvalidValueError
from ..retrofit.wrap import WrappedBackbone
from .official.unet import RestormerUNet

__all__ = ["Purpose", "SourceKind", "Tiling", "ModelDescriptor", "describe_module"]

#: What a network does, in spandrel's words (``ImageModelDescriptor.purpose``).
Purpose = Literal["Restoration", "SR", "FaceSR", "Inpainting", "Unknown"]
#: How tiles may be used (spandrel's ``ModelTiling``, lower case): ``"supported"``, ``"discouraged"``
#: (the network's output changes with the tile size), ``"internal"`` (it tiles by itself).
Tiling = Literal["supported", "discouraged", "internal"]
#: Where the network came from: a local ``"file"`` or ``"folder"``, a Hub repository (``"hf-hub"``),
#: a ``"preset"`` of :func:`~perceive_ir.models.list_models`, or a ``"module"`` given in memory.
SourceKind = Literal["file", "folder", "hf-hub", "preset", "module"]

_PURPOSES = ("Restoration", "SR", "FaceSR", "Inpainting", "Unknown")
_TILINGS = ("supported", "discouraged", "internal")
_SOURCE_KINDS = ("file", "folder", "hf-hub", "preset", "module")


@dataclass(frozen=True)
class ModelDescriptor:
    """A network and what is known about it: the one description every consumer reads.

    The first four fields are those of the former ``LoadedModel`` (in its order), so
    ``ModelDescriptor(module, multiple, description, trained)`` still builds one.

    Attributes:
        module: The network (in eval mode when :func:`~perceive_ir.models.load_model` made it).
        multiple: Its inputs' height and width must be multiples of this (spandrel's
            ``size_requirements.multiple_of``); :func:`~perceive_ir.inference.restore` pads to it.
        description: What was loaded, for logs and reports.
        trained: False for a preset built with random weights.
        architecture: The architecture's id (``"NAFNet"``, ``"PerceiveIRNet"``, ...); for a wrapped
            network its backbone's.
        purpose: What the network does (spandrel's ``purpose``).
        scale: The integer factor the output is larger than the input by; ``None``: not known
            (:func:`~perceive_ir.inference.restore` then infers it from the first tile).
        input_channels: Channels of the image the network takes (3 for RGB).
        output_channels: Channels of the image it returns.
        minimum_size: The smallest height and width it takes (spandrel's ``size_requirements.minimum``).
        tiling: Whether it may be run tile by tile (spandrel's ``tiling``, lower case).
        supports_half: Whether float16 gives results close to float32 (as spandrel states it;
            informational: ``restore(half=True)`` does not refuse).
        supports_bfloat16: Likewise for bfloat16.
        guided: Whether it computes whole-image guidance apart (``compute_guidance`` and
            ``forward_with_guidance``), which ``restore()`` shares across tiles.
        source_kind: Where it came from (:data:`SourceKind`).
        source: The source as given (a path, a Hub id, a preset name), ``""`` for a module.

    Raises:
        TypeError: ``module`` is not an ``nn.Module``.
        ValueError: a non-positive ``multiple``, ``scale`` or channel count, a negative
            ``minimum_size``, or an unknown ``purpose``, ``tiling`` or ``source_kind``.

    Example:
        >>> from torch import nn
        >>> d = ModelDescriptor(nn.Identity(), 8, "identity", architecture="Identity", scale=1)
        >>> d.multiple, d.trained, d.size_requirements
        (8, True, {'minimum': 0, 'multiple_of': 8})
    """

    module: nn.Module = field(repr=False)
    multiple: int = 1
    description: str = ""
    trained: bool = True
    architecture: str = ""
    purpose: Purpose = "Restoration"
    scale: int | None = None
    input_channels: int = 3
    output_channels: int = 3
    minimum_size: int = 0
    tiling: Tiling = "supported"
    supports_half: bool = False
    supports_bfloat16: bool = False
    guided: bool = False
    source_kind: SourceKind = "module"
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.module, nn.Module):
            raise InvalidTypeError(f"`module` must be a torch.nn.Module, got {type(self.module).__name__}.")
        for name in ("multiple", "input_channels", "output_channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidValueError(f"`{name}` must be a positive int, got {value!r}.")
        if self.scale is not None and (isinstance(self.scale, bool) or not isinstance(self.scale, int)
                                       or self.scale < 1):
            raise InvalidValueError(f"`scale` must be None or a positive int, got {self.scale!r}.")
        if isinstance(self.minimum_size, bool) or not isinstance(self.minimum_size, int) or self.minimum_size < 0:
            raise InvalidValueError(f"`minimum_size` must be an int >= 0, got {self.minimum_size!r}.")
        for name, allowed in (("purpose", _PURPOSES), ("tiling", _TILINGS), ("source_kind", _SOURCE_KINDS)):
            if getattr(self, name) not in allowed:
                raise InvalidValueError(f"`{name}` must be one of {list(allowed)}, got {getattr(self, name)!r}.")

    @property
    def size_requirements(self) -> dict[str, int]:
        """Spandrel's ``size_requirements`` as a dict: ``minimum`` and ``multiple_of``."""
        return {"minimum": self.minimum_size, "multiple_of": self.multiple}

    def replace(self, **changes: object) -> ModelDescriptor:
        """A copy with some fields changed (checked again).

        Example:
            >>> from torch import nn
            >>> describe_module(nn.Identity()).replace(description="mine").description
            'mine'
        """
        return replace(self, **changes)  # type: ignore[arg-type]  # dataclasses.replace takes field keywords


def _is_guided(module: nn.Module) -> bool:
    return all(callable(getattr(module, name, None)) for name in ("compute_guidance", "forward_with_guidance"))


def describe_module(
    module: nn.Module,
    *,
    description: str | None = None,
    trained: bool = True,
    source_kind: SourceKind = "module",
    source: str = "",
) -> ModelDescriptor:
    """Describe a network in memory from what it states about itself.

    A :class:`~perceive_ir.retrofit.wrap.WrappedBackbone` states its ``multiple`` and
    whether it is guided; one of the authors' U-Nets (``PerceiveIRNet``, ``MediumRestorer``) also
    restores at scale 1. Any other module gets multiple 1; a scale not known is ``None``
    (``restore()`` infers it from the first tile).

    Args:
        module: The network.
        description: What it is, for logs; ``None``: its class name (and its backbone's).
        trained: Whether its weights are trained.
        source_kind: Where it came from (:data:`SourceKind`).
        source: The source as given.

    Returns:
        The :class:`ModelDescriptor`.

    Raises:
        TypeError: ``module`` is not an ``nn.Module``.

    Example:
        >>> from perceive_ir.models import create_model
        >>> d = describe_module(create_model("nafnet-small", semantic_encoder=None, probe_size=32))
        >>> d.architecture, d.multiple, d.scale, d.guided
        ('NAFNet', 16, None, True)
    """
    if not isinstance(module, nn.Module):
        raise InvalidTypeError(f"`module` must be a torch.nn.Module, got {type(module).__name__}.")
    known = isinstance(module, (WrappedBackbone, RestormerUNet))
    multiple = int(getattr(module, "multiple", None) or 1) if known else 1
    inner = module.backbone if isinstance(module, WrappedBackbone) else module
    architecture = type(inner).__name__
    if description is None:
        description = architecture if inner is module else f"{type(module).__name__} of {architecture}"
    return ModelDescriptor(
        module,
        multiple,
        description,
        trained,
        architecture=architecture,
        scale=1 if isinstance(module, RestormerUNet) else None,
        guided=_is_guided(module),
        source_kind=source_kind,
        source=source,
    )
