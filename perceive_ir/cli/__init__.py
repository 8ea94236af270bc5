"""The ``perceive-ir`` command. Each subcommand lives in its own module of this package."""

from .main import main

__all__ = ["main"]
