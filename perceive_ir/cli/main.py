"""Entry point of the ``perceive-ir`` console script.

A subcommand is a module of ``perceive_ir.cli`` listed in :data:`SUBCOMMANDS` that defines
``NAME: str``, ``HELP: str``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are
imported lazily, so ``perceive-ir --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .._version import __version__

__all__ = ["main", "SUBCOMMANDS", "build_parser"]

#: Subcommand modules of ``perceive_ir.cli``, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = ("demo", "train_perceiver", "train", "evaluate", "restore", "score", "export")


def build_parser() -> argparse.ArgumentParser:
    """The ``perceive-ir`` parser, one subparser per module of :data:`SUBCOMMANDS` (imported here)."""
    parser = argparse.ArgumentParser(
        prog="perceive-ir",
        description="All-in-one image restoration with Perceive-IR and AMIRNet modules.",
    )
    parser.add_argument("--version", action="version", version=f"perceive-ir {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        module = importlib.import_module(f"{__package__}.{module_name}")
        sub_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
