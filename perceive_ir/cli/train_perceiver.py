"""``perceive-ir train-perceiver``: stage-1 prompt learning of the quality perceiver."""

from __future__ import annotations

import argparse

from ._recipe import add_recipe_arguments, run_recipe

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "train-perceiver"
HELP = "Learn the quality perceiver's tier prompts (Perceive-IR stage 1) on a triplet manifest."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``perceive-ir train-perceiver``."""
    add_recipe_arguments(parser, "built-in recipe name (perceiver) or a YAML path", "data.manifest=...")


def run(args: argparse.Namespace) -> int:
    """Load the recipe, build the trainer, train; returns the exit status."""
    from ..training.recipe import perceiver_trainer

    return run_recipe(args, perceiver_trainer)
