"""perceive-ir: drop-in modules for all-in-one image restoration."""

from ._version import __version__
from .condition import ConditionSource
from .hub import HubMixin, PretrainedNotFoundError

__all__ = ["__version__", "ConditionSource", "HubMixin", "PretrainedNotFoundError"]
