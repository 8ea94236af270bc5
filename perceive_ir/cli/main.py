"""Entry point of the ``perceive-ir`` console script.

A subcommand is a module of ``perceive_ir.cli`` listed in :data:`SUBCOMMANDS` that defines
``NAME: str``, ``HELP: str``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are
imported lazily, so ``perceive-ir --help`` stays fast.

A user error (a bad flag, setting, file or input: the ``USER_ERRORS`` of ``cli/_errors.py``) prints
one ``error: ...`` line naming what was wrong and exits with status 2, like argparse's own
errors; ``--debug`` shows the traceback instead. Any other exception is an internal error and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Sequence

from .._version import __version__
from ._errors import BUG_MESSAGE, EXIT_BUG, EXIT_USER_ERROR, USER_ERRORS, user_error_message

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: Subcommand modules of ``perceive_ir.cli``, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "demo", "train_perceiver", "train", "evaluate", "restore", "score", "export", "convert_official", "app"
)


def build_parser() -> argparse.ArgumentParser:
    """The ``perceive-ir`` parser, one subparser per module of :data:`SUBCOMMANDS` (imported here)."""
    parser = argparse.ArgumentParser(
        prog="perceive-ir",
        description="All-in-one image restoration with Perceive-IR and AMIRNet modules.",
    )
    parser.add_argument("--version", action="version", version=f"perceive-ir {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        module = importlib.import_module(f"{__package__}.{module_name}")
        sub_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        # also accepted after the command; SUPPRESS keeps a --debug given before it
        sub_parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                help="show the full traceback of an error")
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    2 for a user error (:data:`USER_ERRORS`: one ``error:`` line), 1 for any other exception (a
    bug: its traceback, then a line saying so), 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args._run(args) or 0)
    except USER_ERRORS as err:
        if args.debug:
            raise
        print(user_error_message(err), file=sys.stderr)
        print("(run with --debug for the full traceback)", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # not a user error: a bug, shown whole
        if args.debug:
            raise
        traceback.print_exc()
        print(BUG_MESSAGE, file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
