"""Destinations that cannot destroy: a write never replaces, swallows or enters what it reads, nor a user's folder.

Every command that writes where a user points it checks its destination here first:
:func:`check_not_a_source` for the inputs it reads, :func:`check_replaceable_folder` before an
``--overwrite`` replaces a folder whole.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path

from .errors import InvalidValueError

__all__ = ["DestinationError", "check_not_a_source", "check_replaceable_folder"]


class DestinationError(InvalidValueError):
    """A destination would replace, contain or lie inside an input, or replace files the library did not write."""


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_not_a_source(
    destination: str | os.PathLike[str],
    sources: Iterable[str | os.PathLike[str] | None],
    *,
    name: str = "destination",
) -> None:
    """Refuse a ``destination`` that is a source, contains one, or lies inside a source folder.

    Paths are compared resolved (symbolic links and ``..`` followed), whether or not they exist yet.

    Args:
        destination: The file or folder about to be written.
        sources: The files or folders the command reads (``None`` entries are skipped).
        name: How the destination is called in the message (``"DST"``, ``"`out`"``).

    Raises:
        DestinationError: the destination and a source overlap.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> check_not_a_source(f"{d}/new", [f"{d}/model.pth"])
        >>> check_not_a_source(d, [f"{d}/model.pth"])
        Traceback (most recent call last):
        ...
        perceive_ir._destinations.DestinationError: ...
    """
    dst = Path(destination).resolve()
    for source in sources:
        if source is None:
            continue
        src = Path(source).resolve()
        if dst == src:
            raise DestinationError(f"{name} {destination} is the input {source}; writing it would destroy the input.")
        if _is_within(src, dst):
            raise DestinationError(
                f"{name} {destination} contains the input {source}; writing it would destroy the input. "
                "Choose a new path."
            )
        if src.is_dir() and _is_within(dst, src):
            raise DestinationError(
                f"{name} {destination} lies inside the input folder {source}; choose a path outside it."
            )


def check_replaceable_folder(
    folder: str | os.PathLike[str],
    owned: Collection[str],
    *,
    name: str = "destination",
    what: str = "this command",
) -> None:
    """Refuse to replace a folder that holds anything but what ``what`` writes itself.

    ``--overwrite`` replaces a folder whole; it may do so only when every entry in it is one of
    the names the command writes (a folder it wrote before), so a user's folder, with their own
    files in it, is never removed.

    Args:
        folder: The folder an overwrite would replace (nothing is checked if it does not exist).
        owned: The entry names the command writes.
        name: How the folder is called in the message.
        what: Who writes the owned names, for the message.

    Raises:
        DestinationError: the folder is a file, or holds entries that are not ``owned``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "config.json").write_text("{}")
        >>> check_replaceable_folder(d, {"config.json", "model.safetensors"})
        >>> _ = (d / "notes.txt").write_text("mine")
        >>> check_replaceable_folder(d, {"config.json"})
        Traceback (most recent call last):
        ...
        perceive_ir._destinations.DestinationError: ...
    """
    path = Path(folder)
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir():
        raise DestinationError(f"{name} {folder} is a file, not a folder {what} wrote; it is left alone.")
    foreign = sorted(p.name for p in path.iterdir() if p.name not in owned)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise DestinationError(
            f"{name} {folder} holds files {what} did not write ({shown}); --overwrite replaces only a folder "
            f"{what} wrote itself. Choose another {name}."
        )
