"""The degradation protocol: a callable on float images in ``[0, 1]``, seedable, clamped."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..._seeding import make_generator
from ..._validation import check_image
from ...errors import InvalidTypeError, InvalidValueError

__all__ = ["Degradation", "Compose", "randn", "rand"]


def randn(shape: Sequence[int], generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Standard normal noise drawn on the CPU from ``generator`` and moved to ``like``'s device/dtype."""
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float32).to(like.device, like.dtype)


def rand(shape: Sequence[int], generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Uniform ``[0, 1)`` noise drawn on the CPU from ``generator`` and moved to ``like``'s device/dtype."""
    return torch.rand(tuple(shape), generator=generator, dtype=torch.float32).to(like.device, like.dtype)


class Degradation(ABC):
    """Base class: ``degradation(image, seed=..., generator=...) -> degraded image``.

    Subclasses implement :meth:`apply` on a validated ``B×3×H×W`` batch and
    :meth:`from_severity`, which maps a severity in ``[0, 1]`` (0 = mild, 1 = severe) to
    parameters, so that every degradation type can be swept the same way.

    Calling accepts ``3×H×W`` or ``B×3×H×W`` float tensors in ``[0, 1]`` and returns the same
    shape, clamped to ``[0, 1]``. With ``seed`` or ``generator`` the result is reproducible and
    the global RNG is untouched; with neither, the global RNG is used.
    """

    #: Whether the output depends on the random stream (False: seed has no effect).
    stochastic: ClassVar[bool] = True

    @abstractmethod
    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Degrade a validated ``B×3×H×W`` batch (the result is clamped by the caller)."""

    @classmethod
    @abstractmethod
    def from_severity(cls, severity: float) -> "Degradation":
        """Build an instance whose strength grows with ``severity`` in ``[0, 1]``."""

    def params(self) -> dict[str, Any]:
        """The constructor arguments (for manifests and ``repr``)."""
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __call__(self, image: Tensor, *, seed: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Degrade ``image`` (``3×H×W`` or ``B×3×H×W`` in ``[0, 1]``) and clamp the result to ``[0, 1]``.

        Args:
            image: The clean image or batch.
            seed: Seed of a private generator (reproducible; the global RNG is untouched).
            generator: A generator to draw from instead (give at most one of ``seed``, ``generator``).

        Returns:
            The degraded image, same shape as ``image``.
        """
        squeeze = isinstance(image, Tensor) and image.ndim == 3
        batch = image.unsqueeze(0) if squeeze else image
        check_image(batch, "image")
        out = self.apply(batch, make_generator(seed, generator)).clamp(0.0, 1.0)
        return out.squeeze(0) if squeeze else out


def check_severity(severity: float) -> float:
    """Validate a severity in ``[0, 1]``."""
    if isinstance(severity, bool) or not isinstance(severity, (int, float)) or not 0.0 <= float(severity) <= 1.0:
        raise InvalidValueError(f"`severity` must be a number in [0, 1], got {severity!r}.")
    return float(severity)


class Compose(Degradation):
    """Apply several degradations in order, drawing from one random stream.

    Args:
        degradations: The degradations, applied first to last.

    Example:
        >>> import torch
        >>> from perceive_ir.data import Compose, GaussianNoise, Haze
        >>> y = Compose([Haze(beta=1.0), GaussianNoise(sigma=15)])(torch.rand(3, 32, 32), seed=0)
        >>> tuple(y.shape)
        (3, 32, 32)
    """

    def __init__(self, degradations: Sequence[Degradation]) -> None:
        degradations = list(degradations)
        if not degradations:
            raise InvalidValueError("`degradations` must hold at least one Degradation.")
        for i, d in enumerate(degradations):
            if not isinstance(d, Degradation):
                raise InvalidTypeError(f"`degradations[{i}]` must be a Degradation, got {type(d).__name__}.")
        self.degradations = degradations

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        """Whether any of the parts draws random numbers."""
        return any(d.stochastic for d in self.degradations)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Apply the parts in order, from one random stream, clamping to ``[0, 1]`` after each."""
        for d in self.degradations:
            images = d.apply(images, generator).clamp(0.0, 1.0)
        return images

    @classmethod
    def from_severity(cls, severity: float) -> "Compose":
        """Not defined for a composition: build it from its parts' ``from_severity``."""
        raise NotImplementedError("Build a Compose from its parts, e.g. Compose([Haze.from_severity(s), ...]).")

    def params(self) -> dict[str, Any]:
        """The parts, as given to the constructor."""
        return {"degradations": self.degradations}
