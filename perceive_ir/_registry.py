"""A small name → entry registry, behind model presets, degradation presets and published weights.

A registry refuses empty or taken names (unless ``overwrite=True``), and an unknown name
raises an ``UnknownNameError`` (a ``KeyError``, or the error the registry was made with) that lists the known names
and says how to add one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from .errors import InvalidValueError, UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """A read-mostly mapping of names to entries, with ``register`` as the one way to add.

    Args:
        kind: What an entry is, for error messages (``"model"``, ``"degradation preset"``).
        entries: Initial entries.
        how_to_add: The advice appended to an unknown-name error.
        error: The exception type raised for an unknown name (a ``LookupError`` or ``ValueError``
            subclass; :class:`~perceive_ir.errors.UnknownNameError`, a ``KeyError``, by default).

    Example:
        >>> reg = Registry[int]("number", {"one": 1}, how_to_add="add one with `register`")
        >>> reg.register("two", 2)
        >>> reg["two"], reg.names()
        (2, ['one', 'two'])
        >>> reg["three"]
        Traceback (most recent call last):
        ...
        perceive_ir.errors.UnknownNameError: Unknown number 'three'; known: one, two (add one with `register`).
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, T] | None = None,
        *,
        how_to_add: str = "",
        error: type[Exception] = UnknownNameError,
    ) -> None:
        self.kind = kind
        self.how_to_add = how_to_add
        self.error = error
        self._entries: dict[str, T] = {}
        for name, entry in (entries or {}).items():
            self.register(name, entry)

    def register(self, name: str, entry: T, *, overwrite: bool = False) -> None:
        """Add ``entry`` under ``name``.

        Raises:
            ValueError: ``name`` is not a non-empty string, or is taken and ``overwrite`` is False.
        """
        if not isinstance(name, str) or not name:
            raise InvalidValueError(f"`name` must be a non-empty string, got {name!r}.")
        if name in self._entries and not overwrite:
            raise InvalidValueError(
                f"A {self.kind} called {name!r} is already registered; pass overwrite=True to replace it."
            )
        self._entries[name] = entry

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def unknown(self, name: object) -> Exception:
        """The error for an unknown ``name`` (returned, for the caller to raise)."""
        known = ", ".join(self.names()) or "none"
        hint = f" ({self.how_to_add})" if self.how_to_add else ""
        return self.error(f"Unknown {self.kind} {name!r}; known: {known}{hint}.")

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.unknown(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
