"""What ``perceive-ir train`` and ``train-perceiver`` share: recipe options and the run itself."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Callable, cast

from ..errors import InvalidValueError

__all__ = ["add_recipe_arguments", "run_recipe"]


def add_recipe_arguments(parser: argparse.ArgumentParser, config_help: str, override_example: str) -> None:
    """``--config``, ``key=value`` overrides, ``--resume [DIR]`` and ``--print-config``."""
    parser.add_argument("--config", required=True, help=config_help)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help=f"dotted overrides, e.g. {override_example}")
    parser.add_argument("--resume", nargs="?", const="latest", default=None, metavar="DIR",
                        help="continue exactly from a checkpoint folder or run directory (no value: the run's latest)")
    parser.add_argument("--allow-changes", action="store_true",
                        help="with --resume: accept settings that change the result (lr, batch size, schedule, model, "
                             "data) differing from the checkpoint's; they are logged in the run's resume-changes.log")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a fresh run in a train.output_dir an earlier run used: its checkpoints and outputs "
                             "are removed first (without it, such a folder is refused; --resume continues it)")
    parser.add_argument("--print-config", action="store_true", help="print the merged config and exit")


def run_recipe(args: argparse.Namespace, build_trainer: Callable[[Any], Any]) -> int:
    """Load the recipe, build the trainer, keep the merged config beside the run, train.

    A resume is checked against the checkpoint's settings before anything is written, so a
    refused resume leaves the run folder (and its ``config.yaml``) as it was. Errors reach
    :func:`~perceive_ir.cli.main.main`, which prints a user error in one line.
    """
    from omegaconf import OmegaConf

    from .._atomic import atomic_write_bytes
    from ..training.config_files import BASE_KEY, load_config, names_base
    from ..training.loop import Callback

    overrides, resume = list(args.overrides), args.resume
    if resume is not None and "=" in resume and not Path(resume).exists():
        overrides, resume = [*overrides, resume], "latest"  # `--resume key=value`: a bare --resume, then an override
    if args.allow_changes and resume is None:
        raise InvalidValueError("--allow-changes only applies with --resume.")
    if args.overwrite and resume is not None:
        raise InvalidValueError("--overwrite starts the run over; it does not go with --resume.")
    cfg = load_config(args.config, overrides)
    if args.print_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        trainer = build_trainer(cfg)
    except ValueError as err:
        partial = not {"data", "train"} <= set(cfg) or not {"model", "perceiver"} & set(cfg)
        if not partial or names_base(args.config):
            raise
        raise InvalidValueError(
            f"{err} ({args.config} names no `{BASE_KEY}:` recipe, so it must be complete by "
            f"itself; start it with `{BASE_KEY}: small` (or another recipe) to refine one.)"
        ) from err
    # the whole recipe is compared on resume; `train` as the trainer's effective TrainConfig (defaults filled in)
    # a DictConfig converts to a dict (to_container is typed for every config node)
    recipe = cast("dict[str, Any]", OmegaConf.to_container(cfg, resolve=True))
    trainer.settings = {**recipe, "train": trainer.settings["train"]}
    if resume is not None:
        trainer.check_resume(resume, args.allow_changes)  # refused before anything is written
    text = OmegaConf.to_yaml(cfg).encode()

    class RecordConfig(Callback):  # the run's config.yaml, once a resume has loaded (a failed one writes nothing)
        def on_train_start(self, trainer: Any) -> None:
            if trainer.accelerator.is_main_process:
                trainer.output_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(trainer.output_dir / "config.yaml", text)

    trainer.callbacks.append(RecordConfig())
    trainer.train(resume=resume, allow_changes=args.allow_changes, overwrite=args.overwrite)
    return 0
