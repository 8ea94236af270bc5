"""What ``perceive-ir train`` and ``train-perceiver`` share: recipe options and the run itself."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Callable

__all__ = ["add_recipe_arguments", "run_recipe"]


def add_recipe_arguments(parser: argparse.ArgumentParser, config_help: str, override_example: str) -> None:
    """``--config``, ``key=value`` overrides, ``--resume [DIR]`` and ``--print-config``."""
    parser.add_argument("--config", required=True, help=config_help)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help=f"dotted overrides, e.g. {override_example}")
    parser.add_argument("--resume", nargs="?", const="latest", default=None, metavar="DIR",
                        help="continue exactly from a checkpoint folder or run directory (no value: the run's latest)")
    parser.add_argument("--print-config", action="store_true", help="print the merged config and exit")


def run_recipe(args: argparse.Namespace, build_trainer: Callable[[Any], Any]) -> int:
    """Load the recipe, build the trainer, keep the merged config beside the run, train."""
    from omegaconf import OmegaConf

    from ..training.config_files import load_config

    overrides, resume = list(args.overrides), args.resume
    if resume is not None and "=" in resume and not Path(resume).exists():
        overrides, resume = [*overrides, resume], "latest"  # `--resume key=value`: a bare --resume, then an override
    try:
        cfg = load_config(args.config, overrides)
        if args.print_config:
            print(OmegaConf.to_yaml(cfg))
            return 0
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        trainer = build_trainer(cfg)
    except (ValueError, TypeError, FileNotFoundError) as err:  # a recipe the user can fix: no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    if trainer.accelerator.is_main_process:
        trainer.output_dir.mkdir(parents=True, exist_ok=True)
        (trainer.output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    trainer.train(resume=resume)
    return 0
