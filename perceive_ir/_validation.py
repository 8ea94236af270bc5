"""Input checks shared by every public entry point.

Every image argument of the library is a float tensor ``B×3×H×W`` with values in
``[0, 1]``. These helpers turn anything else into a ``TypeError`` or ``ValueError``
that names the argument and says what was expected, instead of a silently wrong
result further down.

Where the checks sit: the API edges (:func:`perceive_ir.restore`, the command line, the
datasets, the loss's entry) check shapes, types *and* values (NaN/Inf, the ``[0, 1]`` range);
module ``forward`` methods (the wrapped backbone, the official network, the CFE, the
perceiver, AMIRNet) check only shapes and dtypes (``check_image(..., check_values=False)``),
which need no device→host read and let ``torch.compile`` and ``torch.export`` capture them.

Floating-point dtypes follow one rule everywhere: a float16, bfloat16, float32 or float64
input is accepted, computed in the module's own dtype (:func:`to_module_dtype`) and the
result returned in the input's dtype; integer tensors (e.g. ``uint8`` images) are refused
with a message naming the argument.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .errors import InvalidTypeError, InvalidValueError

__all__ = [
    "CHECKS_VARIABLE",
    "OUTPUT_RANGE_SLACK",
    "set_checks",
    "value_checks_enabled",
    "check_embedding",
    "check_float",
    "check_image",
    "check_int",
    "check_same_shape",
    "module_device",
    "module_dtype",
    "renamed_keywords",
    "to_input_dtype",
    "to_module_dtype",
]

#: Network outputs (``restored``) may overshoot ``[0, 1]`` by this much: many restoration
#: heads are unclamped, and early in training outputs stray well outside the range. An image
#: in ``0..255`` still fails loudly.
OUTPUT_RANGE_SLACK = 1.0

# float rounding after colour conversions or resizes can leave values a hair outside [0, 1]
_RANGE_EPS = 1e-4

#: Environment variable that turns the value checks off for the process when set to ``0``.
CHECKS_VARIABLE = "PERCEIVE_IR_CHECKS"
_value_checks = os.environ.get(CHECKS_VARIABLE, "1").strip().lower() not in {"0", "false", "off", "no"}


def set_checks(enabled: bool) -> None:
    """Turn the value checks (NaN/Inf and range of every image argument) on or off for the process.

    Shape, type and size checks always run; the value checks read a reduction of the tensor
    back to the host (a device sync), so a tuned inference or training loop may turn them off.
    They are also off while ``torch.compile`` or a tracer runs the code, whatever this says.
    The environment variable ``PERCEIVE_IR_CHECKS=0`` turns them off at import.

    Example:
        >>> import torch
        >>> set_checks(False)
        >>> check_image(torch.full((1, 3, 4, 4), 7.0), "x").shape  # no range check
        torch.Size([1, 3, 4, 4])
        >>> set_checks(True)
    """
    global _value_checks
    if not isinstance(enabled, bool):
        raise InvalidTypeError(f"`enabled` must be a bool, got {type(enabled).__name__}.")
    _value_checks = enabled


def value_checks_enabled() -> bool:
    """Whether value checks run now: switched on, and not inside ``torch.compile`` or a tracer.

    Example:
        >>> value_checks_enabled()
        True
    """
    return _value_checks and not torch.compiler.is_compiling() and not torch.jit.is_tracing()


def check_image(
    x: object,
    name: str,
    *,
    channels: int | None = 3,
    min_size: int = 1,
    slack: float = 0.0,
    check_values: bool = True,
) -> Tensor:
    """Validate an image batch and return it unchanged.

    Args:
        x: The value to check.
        name: Argument name used in error messages.
        channels: Required number of channels, or ``None`` for any.
        min_size: Smallest allowed height and width.
        slack: How far values may lie outside ``[0, 1]`` (``OUTPUT_RANGE_SLACK`` for network outputs).
        check_values: Check for NaN/Inf and the value range (one reduction over the tensor,
            read back to the host); skipped when :func:`set_checks` turned value checks off,
            and while ``torch.compile`` or a tracer runs.

    Returns:
        ``x``, untouched.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: wrong rank, channel count or size; NaN/Inf; values out of range.

    Example:
        >>> import torch
        >>> check_image(torch.rand(2, 3, 32, 32), "images").shape
        torch.Size([2, 3, 32, 32])
    """
    if not isinstance(x, Tensor):
        raise InvalidTypeError(f"`{name}` must be a torch.Tensor of shape (B, 3, H, W), got {type(x).__name__}.")
    if not x.is_floating_point():
        raise InvalidTypeError(
            f"`{name}` must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}. "
            f"Convert with `{name}.float() / 255` for 8-bit images."
        )
    if x.ndim != 4:
        raise InvalidValueError(f"`{name}` must have shape (B, C, H, W), got {x.ndim} dimensions {tuple(x.shape)}.")
    if channels is not None and x.shape[1] != channels:
        raise InvalidValueError(
            f"`{name}` must have {channels} channels (B, {channels}, H, W), got shape {tuple(x.shape)}."
        )
    if x.shape[0] == 0:
        raise InvalidValueError(f"`{name}` is an empty batch (shape {tuple(x.shape)}).")
    if x.shape[-2] < min_size or x.shape[-1] < min_size:
        raise InvalidValueError(
            f"`{name}` must be at least {min_size}×{min_size} pixels, got {x.shape[-2]}×{x.shape[-1]}."
        )
    if check_values and value_checks_enabled():
        with torch.no_grad():
            lo, hi = torch.aminmax(x.detach())
            lo_v, hi_v = float(lo), float(hi)
        if not (torch.isfinite(lo) and torch.isfinite(hi)):
            raise InvalidValueError(f"`{name}` contains NaN or Inf values.")
        if lo_v < -slack - _RANGE_EPS or hi_v > 1.0 + slack + _RANGE_EPS:
            hint = " It looks like 0..255 data: divide by 255." if hi_v > 2.0 else ""
            allowed = f"[{-slack:g}, {1 + slack:g}]" if slack else "[0, 1]"
            raise InvalidValueError(
                f"`{name}` must hold values in {allowed}, got min {lo_v:.4g} and max {hi_v:.4g}.{hint}"
            )
    return x


def check_same_shape(a: Tensor, a_name: str, b: Tensor, b_name: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape.

    Example:
        >>> import torch
        >>> check_same_shape(torch.zeros(1, 3, 8, 8), "restored", torch.zeros(1, 3, 8, 8), "target")
    """
    if a.shape != b.shape:
        raise InvalidValueError(
            f"`{a_name}` and `{b_name}` must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}."
        )


def check_embedding(x: object, name: str, *, dim: int | None = None, batch: int | None = None) -> Tensor:
    """Validate a ``B×D`` float embedding and return it unchanged.

    Example:
        >>> import torch
        >>> check_embedding(torch.randn(4, 128), "z", dim=128).shape
        torch.Size([4, 128])
    """
    if not isinstance(x, Tensor):
        raise InvalidTypeError(f"`{name}` must be a torch.Tensor of shape (B, D), got {type(x).__name__}.")
    if not x.is_floating_point():
        raise InvalidTypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}.")
    if x.ndim != 2:
        raise InvalidValueError(f"`{name}` must have shape (B, D), got shape {tuple(x.shape)}.")
    if dim is not None and x.shape[1] != dim:
        raise InvalidValueError(f"`{name}` must have {dim} features per sample, got shape {tuple(x.shape)}.")
    if batch is not None and x.shape[0] != batch:
        raise InvalidValueError(f"`{name}` must hold {batch} samples, got {x.shape[0]}.")
    return x


def check_int(value: object, name: str, *, minimum: int = 1, optional: bool = False) -> int | None:
    """Return ``value`` if it is an ``int`` (not a ``bool``) of at least ``minimum``.

    Args:
        value: The value to check.
        name: Argument name used in error messages.
        minimum: Smallest allowed value (1: a positive int; 0: a non-negative one).
        optional: Also accept ``None`` (returned as is).

    Returns:
        ``value``, untouched.

    Raises:
        ValueError: ``value`` is not such an int (``True`` is refused: it is not a count).

    Example:
        >>> check_int(3, "tile")
        3
        >>> check_int(True, "tile")
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: `tile` must be a positive int, got True.
    """
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = {1: "a positive int", 0: "a non-negative int"}.get(minimum, f"an int >= {minimum}")
        raise InvalidValueError(f"`{name}` must be {'None or ' if optional else ''}{what}, got {value!r}.")
    return value


def check_float(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    exclusive: bool = False,
    optional: bool = False,
) -> float | None:
    """Return ``value`` as a ``float`` if it is a finite real number (not a ``bool`` or a string).

    Args:
        value: The value to check (an ``int`` is accepted and converted).
        name: Argument name used in error messages.
        minimum: Smallest allowed value, or ``None`` for no bound.
        exclusive: ``minimum`` itself is not allowed (``> minimum`` instead of ``>=``).
        optional: Also accept ``None`` (returned as is).

    Raises:
        ValueError: ``value`` is not such a number.

    Example:
        >>> check_float(1e-3, "lr", minimum=0, exclusive=True)
        0.001
        >>> check_float("abc", "lr", minimum=0, exclusive=True)
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidValueError: `lr` must be a number > 0, got 'abc'.
    """
    if optional and value is None:
        return None
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    ok = number is not None and math.isfinite(number)
    if ok and number is not None and minimum is not None:
        ok = number > minimum if exclusive else number >= minimum
    if number is None or not ok:
        bound = "" if minimum is None else f" {'>' if exclusive else '>='} {minimum:g}"
        raise InvalidValueError(f"`{name}` must be {'None or ' if optional else ''}a number{bound}, got {value!r}.")
    return float(number)


def module_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype ``module`` computes in: that of its first floating-point parameter or buffer.

    Returns ``None`` for a module without floating-point tensors (it then takes any dtype).

    Example:
        >>> module_dtype(nn.Linear(2, 2).double())
        torch.float64
    """
    for tensor in itertools.chain(module.parameters(), module.buffers()):  # lazily: usually the first one
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def module_device(module: nn.Module) -> torch.device | None:
    """The device ``module`` lives on: that of its first parameter or buffer (``None`` for a module without any).

    Example:
        >>> module_device(nn.Linear(2, 2)), module_device(nn.ReLU())
        (device(type='cpu'), None)
    """
    for tensor in itertools.chain(module.parameters(), module.buffers()):  # lazily: the first one tells
        return tensor.device
    return None


def _autocast(x: Tensor) -> bool:
    return torch.is_autocast_enabled(x.device.type)


def to_module_dtype(x: Tensor, module: nn.Module) -> Tensor:
    """``x`` in the dtype ``module`` computes in (``x`` itself when it already is, or the module has none).

    The callers hand their result back with :func:`to_input_dtype`, so a float64, float16 or
    bfloat16 input is computed in the module's dtype and returned in its own. Under
    ``torch.autocast`` both are no-ops: autocast already chooses the dtype of every op.

    Example:
        >>> import torch
        >>> to_module_dtype(torch.rand(1, 3, 4, 4, dtype=torch.float64), nn.Conv2d(3, 3, 1)).dtype
        torch.float32
    """
    dtype = module_dtype(module)
    return x if dtype is None or x.dtype == dtype or _autocast(x) else x.to(dtype)


def to_input_dtype(out: Tensor, dtype: torch.dtype) -> Tensor:
    """A module's result ``out`` back in its input's ``dtype`` (unchanged under ``torch.autocast``).

    Example:
        >>> import torch
        >>> to_input_dtype(torch.zeros(2), torch.float16).dtype
        torch.float16
    """
    return out if out.dtype == dtype or _autocast(out) else out.to(dtype)


def renamed_keywords(
    options: Mapping[str, Any], renames: Mapping[str, str], owner: str, *, stacklevel: int = 3
) -> dict[str, Any]:
    """Old keyword spellings in ``options`` under their new names, each with a ``DeprecationWarning``.

    Args:
        options: The ``**kwargs`` a signature collected beyond its own parameters.
        renames: Old spelling → new spelling.
        owner: The callable's name, for the messages.
        stacklevel: The frame the warning names, counted from this function (3: the caller of
            the function that calls this one).

    Returns:
        ``{new name: value}`` for every old spelling given.

    Raises:
        TypeError: ``options`` holds a keyword that is neither (the message lists the renamed ones).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     renamed_keywords({"encoder": "x"}, {"encoder": "semantic_encoder"}, "f")
        {'semantic_encoder': 'x'}
        >>> str(caught[0].message)
        'f: `encoder` is deprecated; use `semantic_encoder`.'
    """
    unknown = sorted(set(options) - set(renames))
    if unknown:
        raise InvalidTypeError(
            f"{owner} got unexpected keyword argument(s) {unknown}; renamed ones still accepted: {sorted(renames)}."
        )
    for old in options:
        warnings.warn(
            f"{owner}: `{old}` is deprecated; use `{renames[old]}`.", DeprecationWarning, stacklevel=stacklevel
        )
    return {renames[old]: value for old, value in options.items()}
