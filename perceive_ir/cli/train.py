"""``perceive-ir train``: stage-2 restoration training from a recipe config."""

from __future__ import annotations

import argparse
from typing import Any

from ._fast_args import add_compile_argument
from ._recipe import add_recipe_arguments, run_recipe

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "train"
HELP = "Train a restoration model (Perceive-IR stage 2) from a recipe: perceive-ir train --config 3task [key=value ...]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``perceive-ir train``."""
    add_recipe_arguments(
        parser, "built-in recipe name (3task, 5task, 3task-retrofit, 5task-retrofit, small) or a YAML path",
        "train.batch_size=4",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="build the model, loss, optimiser and data plan without training or downloading; print what they are "
             "and what is missing (exit 0 when everything but the missing inputs could be built)",
    )
    add_compile_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Load the recipe, build the trainer, train; returns the exit status (with ``--dry-run``: report only)."""
    if args.dry_run:
        from ..training.config_files import load_config
        from ..training.dry_run import dry_run

        report = dry_run(load_config(args.config, list(args.overrides)))
        print(report.format())
        return 0 if report.ok else 1
    from ..training.recipe import restoration_trainer

    def build(cfg: Any) -> Any:
        trainer = restoration_trainer(cfg)
        trainer.compile_step = args.compile  # torch.compile each step when training starts
        return trainer

    return run_recipe(args, build)
