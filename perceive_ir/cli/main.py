"""Entry point of the ``perceive-ir`` console script.

A subcommand is a module of ``perceive_ir.cli`` listed in :data:`SUBCOMMANDS` that defines
``NAME: str``, ``HELP: str``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are
imported lazily, so ``perceive-ir --help`` stays fast.

A user error (a bad flag, setting, file or input: the :data:`USER_ERRORS` exceptions) prints
one ``error: ...`` line naming what was wrong and exits with status 2, like argparse's own
errors; ``--debug`` shows the traceback instead. Any other exception is an internal error and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

import yaml
from omegaconf.errors import OmegaConfBaseException

from .._version import __version__

__all__ = ["EXIT_USER_ERROR", "SUBCOMMANDS", "USER_ERRORS", "build_parser", "main"]

#: Exit status of a user error (the same as argparse's for a bad command line).
EXIT_USER_ERROR = 2

#: Exceptions that mean the input, a file or a setting was wrong: one line, no traceback.
#: The library raises these with messages that name the argument, key or file.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, KeyError, OSError, ImportError, FloatingPointError, yaml.YAMLError, OmegaConfBaseException,
)

#: Subcommand modules of ``perceive_ir.cli``, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = ("demo", "train_perceiver", "train", "evaluate", "restore", "score")


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


def user_error_message(err: BaseException) -> str:
    """The one line printed for a user error: its message (a ``KeyError``'s without the quotes).

    Example:
        >>> user_error_message(ValueError("`tile` must be a positive int, got 0."))
        'error: `tile` must be a positive int, got 0.'
    """
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return f"error: {text.strip() or type(err).__name__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a user error, see :data:`USER_ERRORS`)."""
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


if __name__ == "__main__":
    sys.exit(main())
