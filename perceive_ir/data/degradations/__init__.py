"""Degradation synthesis: noise, rain, haze, blur, low light, JPEG, and compositions."""

from .base import Compose, Degradation
from .blur import GaussianBlur, MotionBlur
from .haze import Haze
from .jpeg import JPEG
from .lowlight import LowLight
from .noise import GaussianNoise
from .presets import PRESETS, get_degradation, list_degradations, register_degradation
from .rain import Rain

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
