"""The one wording of a deprecation warning for the loaders that ``load_model`` replaced."""

from __future__ import annotations

import warnings

__all__ = ["warn_deprecated"]


def warn_deprecated(old: str, new: str) -> None:
    """Warn (``DeprecationWarning``, at the caller's caller) that ``old`` is replaced by ``new``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_deprecated("old_loader", "load_model")
        >>> str(caught[0].message)
        'old_loader is deprecated and will be removed in the next release; use load_model instead.'
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new} instead.",
        DeprecationWarning,
        stacklevel=3,
    )
