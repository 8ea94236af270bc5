"""The errors perceive-ir raises about what it was given, under one base class.

Every check and loader of the library raises a :class:`PerceiveIRError`: a bad argument, file,
name or setting, with a message that names it and says what was expected. Each subclass keeps
the standard exception it refines as a base, so ``except ValueError`` (or ``TypeError``,
``KeyError``, ``FileNotFoundError``, ``OSError``) clauses written before this module existed
still catch them. The command line reports a ``PerceiveIRError`` (and an operating-system error
on a user's path) as one ``error:`` line with status 2; any other exception is a bug of the
library, and is reported as one.

Example:
    >>> from perceive_ir.errors import InvalidValueError, PerceiveIRError
    >>> try:
    ...     raise InvalidValueError("`tile` must be a positive int, got 0.")
    ... except ValueError as err:
    ...     isinstance(err, PerceiveIRError)
    True
"""

from __future__ import annotations

__all__ = [
    "InvalidTypeError",
    "InvalidValueError",
    "MissingFileError",
    "PerceiveIRError",
    "TrainingDivergedError",
    "UnknownNameError",
]


class PerceiveIRError(Exception):
    """Base of the errors about what the library was given: values, types, names, files, settings."""


class InvalidValueError(PerceiveIRError, ValueError):
    """A value, a setting or a file's content is not what was expected."""


class InvalidTypeError(PerceiveIRError, TypeError):
    """An argument has the wrong type."""


class UnknownNameError(PerceiveIRError, KeyError):
    """A name (a preset, a degradation, a registry entry) is not known; the message lists the known ones."""

    def __str__(self) -> str:
        # KeyError's own str() quotes its message; this one is a sentence
        return str(self.args[0]) if self.args else ""


class MissingFileError(PerceiveIRError, FileNotFoundError):
    """A file or folder the library was pointed at does not exist, or lacks what it should hold."""


class TrainingDivergedError(PerceiveIRError, FloatingPointError):
    """Training produced a NaN or infinite loss (a learning rate too high, bad data, a broken network)."""
