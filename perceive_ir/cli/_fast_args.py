"""Command-line options of the fast inference path: ``--compile``, ``--channels-last``, ``--dtype``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a command runs
    from ..inference.compiled import FastOptions

__all__ = ["add_compile_argument", "add_fast_arguments", "fast_options", "report_compiles"]

_COMPILE_HELP = ("torch.compile the network (once per input size: a new image size compiles anew, so use --tile "
                 "for images of many sizes; the first call's compile time is printed)")


_CHANNELS_LAST_HINT = ("; on a CPU give --channels-last with it: compiled convolutions are fastest in channels-last "
                       "memory (docs/benchmarks.md)")


def add_compile_argument(parser: argparse.ArgumentParser, *, hint: str = "") -> None:
    """``--compile`` (alone: ``train``); ``hint`` ends its help."""
    parser.add_argument("--compile", action="store_true", help=_COMPILE_HELP + hint)


def add_fast_arguments(parser: argparse.ArgumentParser) -> None:
    """``--compile``, ``--channels-last`` and ``--dtype {fp32,bf16}``."""
    add_compile_argument(parser, hint=_CHANNELS_LAST_HINT)
    parser.add_argument("--channels-last", action="store_true",
                        help="channels-last memory for the network's weights and inputs (within 1e-6 of the default)")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"),
                        help="fp32 (default) or bf16: bfloat16 autocast on CPU or CUDA (within 2e-2 of fp32)")


def fast_options(args: argparse.Namespace) -> FastOptions:
    """The parsed options as :class:`~perceive_ir.inference.compiled.FastOptions`.

    Raises:
        ValueError: ``--dtype bf16`` with ``--half``.
    """
    from ..errors import InvalidValueError
    from ..inference.compiled import FastOptions

    options = FastOptions(compile=args.compile, channels_last=args.channels_last, dtype=args.dtype)
    if getattr(args, "half", False) and options.dtype != "fp32":
        raise InvalidValueError(f"--half (float16) and --dtype {options.dtype} exclude each other; give one.")
    return options


def report_compiles(enabled: bool = True) -> None:
    """Print the compile reports of the ``perceive_ir.inference`` logger on stderr (once per process)."""
    log = logging.getLogger("perceive_ir.inference")
    if enabled and not any(getattr(h, "_perceive_ir_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._perceive_ir_cli = True  # type: ignore[attr-defined]  # a marker: added once per process
        log.addHandler(handler)
        log.setLevel(logging.INFO)
