"""Data for all-in-one restoration: degradations, datasets, samplers, quality triplets."""

from .degradations import (
    JPEG,
    PRESETS,
    Compose,
    Degradation,
    GaussianBlur,
    GaussianNoise,
    Haze,
    LowLight,
    MotionBlur,
    Rain,
    get_degradation,
    list_degradations,
    register_degradation,
)

__all__ = [
    "Degradation",
    "Compose",
    "GaussianNoise",
    "Rain",
    "Haze",
    "GaussianBlur",
    "MotionBlur",
    "LowLight",
    "JPEG",
    "PRESETS",
    "get_degradation",
    "register_degradation",
    "list_degradations",
]
