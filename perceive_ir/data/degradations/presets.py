"""Named degradation presets for the all-in-one tasks, and a registry users can extend."""

from __future__ import annotations

from collections.abc import Callable

from ..._registry import Registry
from ...errors import InvalidTypeError
from .base import Degradation
from .blur import MotionBlur
from .haze import Haze
from .jpeg import JPEG
from .lowlight import LowLight
from .noise import GaussianNoise
from .rain import Rain

__all__ = ["PRESETS", "get_degradation", "register_degradation", "list_degradations"]

#: Preset name → factory. The noise presets are the exact settings of the denoising task;
#: the others are synthetic stand-ins (the benchmarks themselves ship real degraded images).
PRESETS: Registry[Callable[[], Degradation]] = Registry(
    "degradation preset",
    {
        "noise15": lambda: GaussianNoise(sigma=15),
        "noise25": lambda: GaussianNoise(sigma=25),
        "noise50": lambda: GaussianNoise(sigma=50),
        "rain": lambda: Rain(density=0.004, length=21, angle=10.0, intensity=0.7),
        "haze": lambda: Haze(beta=1.2, airlight=0.85, depth="gradient"),
        "blur": lambda: MotionBlur(length=17, angle=None),
        "lowlight": lambda: LowLight(exposure=0.2, gamma=1.5, photons=500, read_noise=0.01),
        "jpeg": lambda: JPEG(quality=20),
    },
    how_to_add="add one with register_degradation",
)


def get_degradation(name: str) -> Degradation:
    """A fresh instance of the preset ``name``.

    Raises:
        KeyError: unknown name (the message lists the known ones).

    Example:
        >>> get_degradation("noise25")
        GaussianNoise(sigma=25.0)
    """
    return PRESETS[name]()


def register_degradation(name: str, factory: Callable[[], Degradation], *, overwrite: bool = False) -> None:
    """Add a preset (e.g. a custom ``Compose``) under ``name``.

    Raises:
        ValueError: ``name`` exists and ``overwrite`` is False.

    Example:
        >>> from perceive_ir.data import Compose, Haze, GaussianNoise
        >>> register_degradation("haze+noise", lambda: Compose([Haze(), GaussianNoise(15)]), overwrite=True)
        >>> type(get_degradation("haze+noise")).__name__
        'Compose'
    """
    if not callable(factory):
        raise InvalidTypeError(f"`factory` must be callable, got {type(factory).__name__}.")
    PRESETS.register(name, factory, overwrite=overwrite)


def list_degradations() -> list[str]:
    """The registered preset names, sorted.

    Example:
        >>> "noise50" in list_degradations()
        True
    """
    return PRESETS.names()
