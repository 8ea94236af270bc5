"""How an image is run through a network: the tiling, the device, the precision — one object, checked once.

``(tile, overlap, multiple, device, half, progress, output)`` travel together through
:func:`~perceive_ir.inference.restore`, the evaluation, the web page and the command line. A
:class:`TilingSpec` holds them, frozen, and checks each value when it is made; the checks that
need the network (``tile`` a multiple of the network's multiple, ``half`` on a CUDA device) are
its methods, so the rule is written once. ``restore(model, image, tiling=TilingSpec(...))``
takes one; the loose keywords (``restore(model, image, tile=256)``) build the same object and
keep working, without a warning.

Example:
    >>> spec = TilingSpec(tile=256, overlap=16)
    >>> spec.tile, spec.overlap, spec.multiple
    (256, 16, None)
    >>> spec.replace(tile=None).tile is None
    True
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, fields, replace

import torch

from .._validation import check_int
from ..errors import InvalidTypeError, InvalidValueError

__all__ = ["DEFAULT_OVERLAP", "TilingSpec", "check_overlap", "check_tile_multiple"]

#: Overlap between tiles in pixels when none is given [ours].
DEFAULT_OVERLAP = 32


def check_overlap(overlap: object, tile: int) -> int:
    """``overlap`` if it is an int in ``[0, tile)``.

    Raises:
        ValueError: anything else (the message names ``overlap`` and ``tile``).

    Example:
        >>> check_overlap(8, 32)
        8
    """
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < tile:
        raise InvalidValueError(f"`overlap` must be an int in [0, tile={tile}), got {overlap!r}.")
    return overlap


def check_tile_multiple(tile: int, multiple: int, *, what: str = "") -> None:
    """Refuse a ``tile`` that is not a multiple of ``multiple`` (``what`` says whose multiple it is).

    Example:
        >>> check_tile_multiple(48, 16)
        >>> check_tile_multiple(30, 8, what="the model's")
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: `tile` must be None or a positive multiple of 8 (the model's), got 30.
    """
    if tile % multiple:
        if what:
            raise InvalidValueError(f"`tile` must be None or a positive multiple of {multiple} ({what}), got {tile!r}.")
        raise InvalidValueError(f"`tile` must be a positive int divisible by multiple={multiple}, got {tile!r}.")


@dataclass(frozen=True)
class TilingSpec:
    """How :func:`~perceive_ir.inference.restore` runs an image through a network.

    Attributes:
        tile: Tile side in pixels, or ``None`` for the whole image at once. With a network's
            multiple ``m`` (``restore`` mode ``"whole"``), it must be a multiple of ``m``.
        overlap: Overlap between tiles in pixels, in ``[0, tile)`` (blended smoothly).
        multiple: Pad inputs to a multiple of this; ``None``: the network's (its descriptor's).
        scale: The network's integer scale; ``None``: the descriptor's, else inferred from the
            first tile.
        device: Where to compute (``"cpu"``, ``"cuda"``, a ``torch.device``); ``None``: the network's.
        half: Compute in float16 autocast (CUDA only).
        progress: Show a tqdm bar over the tiles.
        output: Which part of a tuple/list/dict output is the image (an index or key);
            ``None``: the first image-shaped tensor.

    Raises:
        ValueError: a ``tile``, ``multiple`` or ``scale`` that is not ``None`` or a positive int,
            an ``overlap`` outside ``[0, tile)``, a ``device`` torch does not know.
        TypeError: a ``half`` or ``progress`` that is not a bool; an ``output`` that is not hashable.

    Example:
        >>> TilingSpec(tile=64, overlap=64)
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: `overlap` must be an int in [0, tile=64), got 64.
    """

    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    multiple: int | None = None
    scale: int | None = None
    device: str | torch.device | None = None
    half: bool = False
    progress: bool = False
    output: int | str | None = None

    def __post_init__(self) -> None:
        check_int(self.tile, "tile", optional=True)
        check_int(self.multiple, "multiple", optional=True)
        check_int(self.scale, "scale", optional=True)
        if self.tile is not None:
            check_overlap(self.overlap, self.tile)
        elif isinstance(self.overlap, bool) or not isinstance(self.overlap, int) or self.overlap < 0:
            raise InvalidValueError(f"`overlap` must be a non-negative int, got {self.overlap!r}.")
        if self.device is not None:
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError) as err:
                raise InvalidValueError(
                    f"`device` must name a torch device (e.g. 'cpu', 'cuda:0'), got {self.device!r}."
                ) from err
        for name in ("half", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidTypeError(f"`{name}` must be a bool, got {getattr(self, name)!r}.")
        if self.output is not None and not isinstance(self.output, Hashable):
            raise InvalidTypeError(f"`output` must be None, an index or a key, got {type(self.output).__name__}.")

    def replace(self, **changes: object) -> TilingSpec:
        """A copy with some fields changed (checked again).

        Raises:
            TypeError: a name that is not a field.
        """
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise InvalidTypeError(f"TilingSpec has no field {unknown[0]!r}; fields: {[f.name for f in fields(self)]}.")
        return replace(self, **changes)  # type: ignore[arg-type]  # field names checked above

    def target_device(self, fallback: torch.device) -> torch.device:
        """The device to compute on: :attr:`device`, else ``fallback`` (the network's or the image's).

        Raises:
            ValueError: ``half`` on a device that is not CUDA.
        """
        target = torch.device(self.device) if self.device is not None else fallback
        if self.half and target.type != "cuda":
            raise InvalidValueError(
                f"`half=True` needs a CUDA device; computing on {target}. Use half=False on {target.type}."
            )
        return target
