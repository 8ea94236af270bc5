"""What the command line counts as a user error, and how it reports one (one line, status 2)."""

from __future__ import annotations

import yaml
from omegaconf.errors import OmegaConfBaseException

from ..errors import PerceiveIRError

__all__ = ["BUG_MESSAGE", "EXIT_BUG", "EXIT_USER_ERROR", "USER_ERRORS", "user_error_message"]

#: Exit status of a user error (the same as argparse's for a bad command line).
EXIT_USER_ERROR = 2
#: Exit status of an unexpected error: a bug of perceive-ir.
EXIT_BUG = 1

#: Exceptions that mean the input, a file or a setting was wrong: one line, no traceback. The
#: library raises :class:`~perceive_ir.errors.PerceiveIRError` with messages that name the
#: argument, key or file; an operating-system error names the path it failed on; a missing
#: optional dependency says which extra to install; a recipe file's YAML or OmegaConf error, its line.
USER_ERRORS: tuple[type[BaseException], ...] = (
    PerceiveIRError, OSError, ImportError, yaml.YAMLError, OmegaConfBaseException,
)

#: The line printed after the traceback of any other exception.
BUG_MESSAGE = (
    "error: this is a bug in perceive-ir, not a problem with your input: please report it with the "
    "traceback above and the command you ran."
)


def user_error_message(err: BaseException) -> str:
    """The line printed for a user error: its message (a ``KeyError``'s without the quotes).

    Example:
        >>> user_error_message(ValueError("`tile` must be a positive int, got 0."))
        'error: `tile` must be a positive int, got 0.'
    """
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return f"error: {text.strip() or type(err).__name__}"
