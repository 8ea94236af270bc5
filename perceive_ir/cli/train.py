"""``perceive-ir train``: stage-2 restoration training from a recipe config."""

from __future__ import annotations

import argparse

from ._recipe import add_recipe_arguments, run_recipe

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "train"
HELP = "Train a restoration model (Perceive-IR stage 2) from a recipe: perceive-ir train --config 3task [key=value ...]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``perceive-ir train``."""
    add_recipe_arguments(parser, "built-in recipe name (3task, 5task, small) or a YAML path", "train.batch_size=4")


def run(args: argparse.Namespace) -> int:
    """Load the recipe, build the trainer, train; returns the exit status."""
    from ..training.recipe import restoration_trainer

    return run_recipe(args, restoration_trainer)
