"""Float64 gradient checks that cannot pass vacuously.

``torch.autograd.gradcheck`` compares the analytical Jacobian with finite differences. It
passes trivially where both are zero (a zero-initialised layer cuts the gradient path), so
:func:`assert_gradcheck` also requires every input to receive a non-zero gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call


def as_inputs(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Detached float64 leaves that require grad."""
    return tuple(t.detach().to(torch.float64).requires_grad_(True) for t in tensors)


def assert_gradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Sequence[Tensor], **kwargs) -> None:
    """Gradcheck ``fn`` at ``inputs`` (float64 leaves) and check that no input's gradient is all zero."""
    inputs = tuple(inputs)
    assert all(t.dtype == torch.float64 and t.requires_grad for t in inputs)
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, **kwargs)
    out = fn(*inputs)
    outputs = (out,) if isinstance(out, Tensor) else tuple(out)
    generator = torch.Generator().manual_seed(0)
    total = sum((o * torch.randn(o.shape, generator=generator, dtype=o.dtype).to(o.device)).sum() for o in outputs)
    grads = torch.autograd.grad(total, inputs, allow_unused=True)
    for index, grad in enumerate(grads):
        assert grad is not None and grad.abs().sum() > 0, f"input {index} gets no gradient: the check is vacuous"


def module_gradcheck(module: nn.Module, inputs: Sequence[Tensor], *, parameters: Mapping[str, Tensor] | None = None,
                     forward: Callable[..., Tensor | Sequence[Tensor]] | None = None) -> None:
    """Gradcheck ``module`` (in float64) with respect to its inputs and all its parameters.

    Args:
        module: The module; converted to float64 in place.
        inputs: The forward inputs (made float64 leaves here).
        parameters: The parameters to check (default: every parameter).
        forward: ``forward(module_output)`` post-processing, e.g. to pick tensors of a tuple.
    """
    module.double()
    params = dict(module.named_parameters()) if parameters is None else dict(parameters)
    names = list(params)
    leaves = as_inputs(*inputs, *params.values())
    n = len(inputs)

    def fn(*args: Tensor):
        out = functional_call(module, dict(zip(names, args[n:], strict=True)), args[:n])
        return forward(out) if forward is not None else out

    assert_gradcheck(fn, leaves)
