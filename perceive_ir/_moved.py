"""Names that moved: their old places keep working for one release, with a ``DeprecationWarning``.

A module whose public names moved defines ``__getattr__ = moved_names(__name__, {...})``: an
old name is imported from its new module only when it is used (so the old module imports
nothing above its own layer when it is imported), with a warning that names the new place.

Example:
    >>> import warnings
    >>> getattr_ = moved_names("old.place", {"sqrt": "math"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     root = getattr_("sqrt")
    >>> root(9.0), str(caught[0].message)
    (3.0, 'old.place.sqrt moved to math.sqrt; the old place goes in the next release.')
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(old_module: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` serving ``moved`` (old name → new module) with a warning.

    Args:
        old_module: The module the names used to live in (its ``__name__``).
        moved: Each moved name and the module that now holds it; a name renamed on the way
            gives its new name after a colon (``{"old_name": "pkg.mod:new_name"}``).

    Returns:
        The ``__getattr__``: a moved name's object, imported from its new module; any other
        name raises ``AttributeError`` as usual.
    """
    table = dict(moved)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        module, _, new_name = table[name].partition(":")
        new_name = new_name or name
        warnings.warn(
            f"{old_module}.{name} moved to {module}.{new_name}; the old place goes in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), new_name)

    return __getattr__
