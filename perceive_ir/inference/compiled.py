"""The fast path of inference: ``torch.compile``, channels-last memory and bfloat16 autocast, cached.

:func:`fast_path` wraps a network so that each call runs it compiled (``torch.compile``,
inductor by default), with its 4-D weights and inputs in channels-last memory, and/or under
bfloat16 autocast (on CPU and CUDA). :func:`~perceive_ir.inference.restore` uses it when given
``compile=True``, ``channels_last=True`` or ``dtype="bf16"``; so do the ``--compile``,
``--channels-last`` and ``--dtype`` options of ``perceive-ir restore`` / ``evaluate`` and the web
page.

Compiling happens once per process for each *(network, method, input size bucket, dtype,
memory format, device)*. A size bucket is one input shape: each new shape compiles anew
(``dynamic=False``: static kernels, the fastest), and a tiled restore gives every tile one
shape, so it compiles once per tile size whatever the image size. The first call of a bucket
(its compile plus one run) is timed, logged on the ``perceive_ir.inference`` logger (INFO) and
kept in :func:`compile_reports`. The compiled callables stay cached for the life of the process
(they hold the network); :func:`clear_compiled` drops them.

For a guided network (a :class:`~perceive_ir.retrofit.wrap.WrappedBackbone` or the authors'
``PerceiveIRNet``) ``compute_guidance`` and ``forward_with_guidance`` are compiled apart, as
:func:`~perceive_ir.inference.restore` calls them (guidance once per image, the network per tile).

Accuracy against the float32 eager network (measured on the authors' network, see
``docs/inference.md``): compiled float32 within 1e-5, channels-last within 1e-6, bfloat16 autocast
within 2e-2 (max absolute difference on outputs in ``[0, 1]``; about 45 dB PSNR).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ..errors import InvalidTypeError, InvalidValueError

__all__ = [
    "COMPILE_BACKEND",
    "DTYPES",
    "CompileReport",
    "FastDtype",
    "FastOptions",
    "FastPath",
    "clear_compiled",
    "compile_reports",
    "fast_path",
    "resolve_dtype",
]

logger = logging.getLogger("perceive_ir.inference")

FastDtype = Literal["fp32", "bf16"]

#: The ``torch.compile`` backend of :func:`fast_path` (and so of ``restore(compile=True)``) when none is given.
COMPILE_BACKEND: str | Callable[..., Any] = "inductor"

#: The values of ``dtype``: float32 as is, or bfloat16 autocast.
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class CompileReport:
    """The first call of one compiled bucket.

    Attributes:
        method: ``"forward"``, ``"compute_guidance"`` or ``"forward_with_guidance"``.
        shape: The input shape (the size bucket).
        dtype: ``"fp32"`` or ``"bf16"``.
        channels_last: Whether inputs and weights were channels-last.
        device: Where it ran.
        seconds: Wall time of the first call: compiling plus one run.
    """

    method: str
    shape: tuple[int, ...]
    dtype: str
    channels_last: bool
    device: str
    seconds: float


@dataclass(frozen=True)
class FastOptions:
    """The fast-path settings of :func:`~perceive_ir.inference.restore` in one checked value.

    Attributes:
        compile: ``torch.compile`` the network.
        channels_last: Channels-last weights and inputs.
        dtype: ``"fp32"`` or ``"bf16"`` (bfloat16 autocast).

    Example:
        >>> FastOptions(compile=True, dtype="bf16").as_kwargs()
        {'compile': True, 'channels_last': False, 'dtype': 'bf16'}
    """

    compile: bool = False
    channels_last: bool = False
    dtype: FastDtype = "fp32"

    def __post_init__(self) -> None:
        for name in ("compile", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidTypeError(f"`{name}` must be a bool, got {getattr(self, name)!r}.")
        object.__setattr__(self, "dtype", resolve_dtype(self.dtype))

    @property
    def active(self) -> bool:
        """Whether any setting departs from plain float32 eager."""
        return self.compile or self.channels_last or self.dtype != "fp32"

    def as_kwargs(self) -> dict[str, Any]:
        """The settings as :func:`~perceive_ir.inference.restore` keyword arguments."""
        return {"compile": self.compile, "channels_last": self.channels_last, "dtype": self.dtype}


# (id(model)) -> the model (kept alive with its compiled callables) and its caches
_COMPILED: dict[int, tuple[nn.Module, dict[tuple[Any, ...], Callable[..., Any]]]] = {}
_REPORTS: dict[int, list[CompileReport]] = {}


def resolve_dtype(dtype: object) -> FastDtype:
    """Check a ``dtype`` option: ``"fp32"``/``"bf16"`` (or ``torch.float32``/``torch.bfloat16``).

    Example:
        >>> import torch
        >>> resolve_dtype("bf16"), resolve_dtype(torch.float32)
        ('bf16', 'fp32')
    """
    for name, value in DTYPES.items():
        if dtype == name or dtype is value:
            return name  # type: ignore[return-value]  # one of the Literal's values
    raise InvalidValueError(
        f"`dtype` must be one of {list(DTYPES)} (float32, or bfloat16 autocast), got {dtype!r}."
    )


def clear_compiled(model: nn.Module | None = None) -> None:
    """Drop the compiled callables and reports of ``model`` (``None``: of every network).

    Example:
        >>> clear_compiled()
    """
    if model is None:
        _COMPILED.clear()
        _REPORTS.clear()
        return
    _COMPILED.pop(id(model), None)
    _REPORTS.pop(id(model), None)


def compile_reports(model: nn.Module) -> list[CompileReport]:
    """The first calls of ``model``'s compiled buckets in this process, oldest first (one per compile).

    Example:
        >>> from torch import nn
        >>> compile_reports(nn.Identity())
        []
    """
    return list(_REPORTS.get(id(model), []))


class FastPath:
    """Runs a network compiled, channels-last and/or under bfloat16 autocast; made by :func:`fast_path`.

    Calling it runs ``model(x)``; for a guided network ``compute_guidance`` and
    ``forward_with_guidance`` run the network's methods likewise. Outputs come back in
    float32 and contiguous memory.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        compile: bool,
        channels_last: bool,
        dtype: FastDtype,
        backend: str | Callable[..., Any] = "inductor",
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.compile = compile
        self.channels_last = channels_last
        self.dtype = dtype
        self.backend = backend
        self.options = dict(options) if options else None
        self._converted = False

    def __call__(self, x: Tensor) -> Any:
        """``model(x)`` on the fast path."""
        return self._run("forward", x)

    def _device(self) -> torch.device:
        for p in self.model.parameters():
            return p.device
        return torch.device("cpu")

    def _callable(self, method: str, device: torch.device) -> Callable[..., Any]:
        fn: Callable[..., Any] = self.model if method == "forward" else getattr(self.model, method)
        if not self.compile:
            return fn
        _, cache = _COMPILED.setdefault(id(self.model), (self.model, {}))
        key = (method, self.dtype, self.channels_last, str(device), id(self.backend))
        if key not in cache:
            cache[key] = torch.compile(fn, backend=self.backend, dynamic=False, options=self.options)
        return cache[key]

    def _run(self, method: str, x: Tensor, *rest: Any) -> Any:
        device = self._device()
        if self.channels_last:
            if not self._converted:  # in place, as restore's `device` moves it
                self.model.to(memory_format=torch.channels_last)
                self._converted = True
            x = x.contiguous(memory_format=torch.channels_last)
        fn = self._callable(method, device)
        autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if self.dtype == "bf16"
                    else contextlib.nullcontext())
        first = self.compile and self._first_call(method, x, device)
        start = time.perf_counter()
        with autocast:
            out = fn(x, *rest)
        if first:
            self._report(method, tuple(x.shape), device, time.perf_counter() - start)
        return _to_float32(out)

    def _first_call(self, method: str, x: Tensor, device: torch.device) -> bool:
        shape = tuple(x.shape)
        return not any(r.method == method and r.shape == shape and r.dtype == self.dtype
                       and r.channels_last == self.channels_last and r.device == str(device)
                       for r in _REPORTS.get(id(self.model), []))

    def _report(self, method: str, shape: tuple[int, ...], device: torch.device, seconds: float) -> None:
        report = CompileReport(method, shape, self.dtype, self.channels_last, str(device), seconds)
        _REPORTS.setdefault(id(self.model), []).append(report)
        memory = ", channels-last" if self.channels_last else ""
        logger.info("compiled %s.%s for input %s (%s%s, %s): first call %.1f s", type(self.model).__name__,
                    method, "×".join(map(str, shape)), self.dtype, memory, device, seconds)


class _GuidedFastPath(FastPath):
    """:class:`FastPath` of a guided network: its guidance and its guided forward, each on the fast path."""

    def compute_guidance(self, image: Tensor) -> Any:
        """``model.compute_guidance(image)`` on the fast path."""
        return self._run("compute_guidance", image)

    def forward_with_guidance(self, image: Tensor, guidance: Any) -> Any:
        """``model.forward_with_guidance(image, guidance)`` on the fast path."""
        return self._run("forward_with_guidance", image, guidance)


def _to_float32(out: Any) -> Any:
    """Tensors of ``out`` (a tensor, or a tuple, list, dict or named tuple of them) in float32, contiguous."""
    if isinstance(out, Tensor):
        return (out.float() if out.is_floating_point() else out).contiguous()
    if isinstance(out, dict):
        return {k: _to_float32(v) for k, v in out.items()}
    if isinstance(out, tuple) and hasattr(out, "_fields"):  # a named tuple (a network's guidance)
        return type(out)(*(_to_float32(v) for v in out))
    if isinstance(out, (list, tuple)):
        return type(out)(_to_float32(v) for v in out)
    return out


def fast_path(
    model: nn.Module,
    *,
    compile: bool = True,
    channels_last: bool = False,
    dtype: FastDtype | torch.dtype = "fp32",
    backend: str | Callable[..., Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> FastPath:
    """Wrap ``model`` to run compiled, channels-last and/or under bfloat16 autocast.

    Args:
        model: Any ``nn.Module``; one with ``compute_guidance`` and ``forward_with_guidance``
            (a guided network) gets both methods on the fast path too. Put it on its device and
            in eval mode first; it is not copied.
        compile: ``torch.compile`` it (once per input shape, dtype, memory format and device in
            this process; the first call of each is timed and logged).
        channels_last: Convert its 4-D weights (in place) and its inputs to channels-last memory.
        dtype: ``"fp32"`` (as is) or ``"bf16"`` (bfloat16 autocast on the model's device: CPU or CUDA).
        backend: The ``torch.compile`` backend; ``None``: :data:`COMPILE_BACKEND` (``"inductor"``).
        options: Inductor options for ``torch.compile`` (e.g. ``{"freezing": True}``).

    Returns:
        A callable running ``model``; outputs in float32.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or a flag is not a bool.
        ValueError: an unknown ``dtype``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Conv2d(3, 3, 3, padding=1).eval()
        >>> fast = fast_path(net, compile=False, channels_last=True, dtype="bf16")
        >>> fast(torch.rand(1, 3, 16, 16)).dtype
        torch.float32
    """
    if not isinstance(model, nn.Module):
        raise InvalidTypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}.")
    for name, flag in (("compile", compile), ("channels_last", channels_last)):
        if not isinstance(flag, bool):
            raise InvalidTypeError(f"`{name}` must be a bool, got {flag!r}.")
    guided = all(callable(getattr(model, m, None)) for m in ("compute_guidance", "forward_with_guidance"))
    kind = _GuidedFastPath if guided else FastPath
    return kind(model, compile=compile, channels_last=channels_last, dtype=resolve_dtype(dtype),
                backend=COMPILE_BACKEND if backend is None else backend, options=options)
