"""Device and dtype checks shared by the core modules' tests (as kornia's ``BaseTester`` does).

Each core module's tests run over the ``device`` × ``float_dtype`` fixtures of ``conftest.py``:
the module is moved with ``.to(device, dtype)``, fed inputs on that device in that dtype, and
:func:`assert_keeps_device_and_dtype` checks every tensor it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn


def tensors_in(value: Any) -> Iterator[Tensor]:
    """Every tensor in ``value``: a tensor, or tensors nested in tuples, lists, dicts and dataclasses."""
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from tensors_in(getattr(value, field.name))


def assert_keeps_device_and_dtype(
    fn: Callable[..., Any],
    *inputs: Any,
    shape: tuple[int, ...] | None = None,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> Any:
    """Call ``fn(*inputs)``; check that every tensor it returns is on the expected device and dtype.

    Every returned tensor must be on ``device``; every floating-point one must be in ``dtype`` and finite
    (defaults: the device and dtype of the first input tensor). ``shape`` (when given) is the shape of
    the first returned tensor. Returns the output for further checks.
    """
    first = next(tensors_in(inputs))
    device = first.device if device is None else device
    dtype = first.dtype if dtype is None else dtype
    out = fn(*inputs)
    outputs = list(tensors_in(out))
    assert outputs, f"{fn!r} returned no tensor"
    for index, tensor in enumerate(outputs):
        assert tensor.device == device, f"output {index} is on {tensor.device}, expected {device}"
        if tensor.is_floating_point():
            assert tensor.dtype == dtype, f"output {index} is {tensor.dtype}, expected {dtype}"
            assert torch.isfinite(tensor).all(), f"output {index} is not finite"
    if shape is not None:
        assert tuple(outputs[0].shape) == tuple(shape), f"output shape {tuple(outputs[0].shape)}, expected {shape}"
    return out


def tolerance(device: torch.device, dtype: torch.dtype) -> dict[str, float]:
    """``rtol``/``atol`` for comparing two ways of computing the same thing on ``device`` in ``dtype``.

    Float32 convolutions on CUDA may use TF32 (about 1e-3 relative), hence the looser CUDA bound.
    """
    if dtype == torch.float64:
        return {"rtol": 1e-10, "atol": 1e-10}
    value = 2e-3 if torch.device(device).type == "cuda" else 1e-4
    return {"rtol": value, "atol": value}


def randomise_(module: nn.Module, std: float = 0.2, seed: int = 0) -> nn.Module:
    """Redraw every parameter of ``module`` in place (normal, ``std``); returns ``module``.

    Zero-initialised branches (FiLM heads, FTB predictors, NAFNet's β and γ) make a fresh module
    the identity or cut a gradient path; after this every branch counts in a check.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float64) * std
            parameter.copy_(noise.to(parameter))
    return module
