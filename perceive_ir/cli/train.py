"""``perceive-ir train``: stage-2 restoration training from a recipe config."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "train"
HELP = "Train a restoration model (Perceive-IR stage 2) from a recipe: perceive-ir train --config 3task [key=value ...]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``perceive-ir train``."""
    parser.add_argument("--config", required=True, help="built-in recipe name (3task, 5task, small) or a YAML path")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.batch_size=4")
    parser.add_argument("--resume", nargs="?", const="latest", default=None, metavar="DIR",
                        help="continue exactly from a checkpoint folder or run directory (no value: the run's latest)")
    parser.add_argument("--print-config", action="store_true", help="print the merged config and exit")


def run(args: argparse.Namespace) -> int:
    """Load the recipe, build the trainer, train; returns the exit status."""
    from omegaconf import OmegaConf

    from ..config import load_config
    from ..training.recipe import restoration_trainer

    overrides, resume = list(args.overrides), args.resume
    if resume is not None and "=" in resume and not Path(resume).exists():
        overrides, resume = [*overrides, resume], "latest"  # `--resume key=value`: a bare --resume, then an override
    cfg = load_config(args.config, overrides)
    if args.print_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    trainer = restoration_trainer(cfg)
    if trainer.accelerator.is_main_process:
        trainer.output_dir.mkdir(parents=True, exist_ok=True)
        (trainer.output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    trainer.train(resume=resume)
    return 0
