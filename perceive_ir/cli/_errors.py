"""What the command line counts as a user error, and how it reports one (one line, status 2)."""

from __future__ import annotations

import yaml
from omegaconf.errors import OmegaConfBaseException

__all__ = ["EXIT_USER_ERROR", "USER_ERRORS", "user_error_message"]

#: Exit status of a user error (the same as argparse's for a bad command line).
EXIT_USER_ERROR = 2

#: Exceptions that mean the input, a file or a setting was wrong: one line, no traceback.
#: The library raises these with messages that name the argument, key or file.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, KeyError, OSError, ImportError, FloatingPointError, yaml.YAMLError, OmegaConfBaseException,
)


def user_error_message(err: BaseException) -> str:
    """The line printed for a user error: its message (a ``KeyError``'s without the quotes).

    Example:
        >>> user_error_message(ValueError("`tile` must be a positive int, got 0."))
        'error: `tile` must be a positive int, got 0.'
    """
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return f"error: {text.strip() or type(err).__name__}"
