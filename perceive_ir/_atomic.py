"""Atomic writes: a file or a folder appears whole under its final name, or not at all.

Everything the library writes for later reading (weights, configs, manifests, images,
reports, training checkpoints) goes through this module, so an interrupted process never
leaves a half-written file under a name that a later run trusts. Temporaries live beside the
target (same file system, so the rename is atomic) under a dotted name ending in ``.tmp``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import PerceiveIRError

__all__ = ["WriteError", "atomic_folder", "atomic_write", "atomic_write_bytes", "remove_stale_temporaries"]

# errno -> what it means for the destination, in words a user can act on
_WRITE_FAILURES: dict[int, str] = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOTDIR: "a part of its path is a file, not a folder",
    errno.EEXIST: "a part of its path is a file, not a folder",
    errno.ENAMETOOLONG: "its name is too long",
}


class WriteError(PerceiveIRError, OSError):
    """A file or folder could not be written: the message names the destination (never a temporary) and why."""


def _write_error(path: Path, err: OSError, tmp: str | Path | None = None) -> OSError:
    """``err`` re-told about ``path`` when its cause is one a user can act on, else ``err`` itself.

    With ``tmp``, only errors about the temporary (or about no file in particular, as a full disk
    during a write) are re-told: an error reading some other file passes through as it is.
    """
    reason = _WRITE_FAILURES.get(err.errno or -1)
    about_other_file = tmp is not None and err.filename is not None and not (
        str(err.filename).startswith(str(tmp)) or str(err.filename) == str(path)
    )
    if reason is None or about_other_file:
        return err
    return WriteError(err.errno, f"Cannot write {path}: {reason} ({os.strerror(err.errno or 0)})")


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Write a file through ``write(file_object)`` into a temporary beside ``path``, then rename it.

    The temporary is flushed and fsynced before the rename and gets ordinary permissions
    (``mkstemp`` makes it ``0600``). On any error, the temporary is removed and ``path`` is
    left as it was; a full disk, a read-only file system, a folder in the way and the like raise
    :class:`WriteError` naming ``path`` (not the temporary) and the cause.

    Args:
        path: The final file; its folder is created if needed.
        write: Writes the content into the binary file object it is given.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> p = atomic_write(tempfile.mkdtemp() + "/hello.txt", lambda f: f.write(b"hello"))
        >>> p.read_bytes()
        b'hello'
    """
    path = Path(path)
    if path.is_dir():
        raise _write_error(path, IsADirectoryError(errno.EISDIR, "Is a directory"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path), suffix=".tmp")
    except OSError as err:
        raise _write_error(path, err) from err
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, err, tmp) from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    r"""Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Example:
        >>> import tempfile
        >>> atomic_write_bytes(tempfile.mkdtemp() + "/x.bin", b"\x00\x01").stat().st_size
        2
    """
    return atomic_write(path, lambda f: f.write(data))


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Fill a temporary folder beside ``path``; on success it replaces ``path`` whole.

    An existing ``path`` is removed just before the rename. On error the temporary folder is
    removed and ``path`` is left as it was.

    Args:
        path: The final folder; its parent is created if needed.

    Yields:
        The temporary folder to write into.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> target = Path(tempfile.mkdtemp()) / "run"
        >>> with atomic_folder(target) as tmp:
        ...     _ = (tmp / "a.txt").write_text("a")
        >>> sorted(p.name for p in target.iterdir())
        ['a.txt']
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=_temporary_prefix(path), suffix=".tmp"))
    except OSError as err:
        raise _write_error(path, err) from err
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_error(path, err, tmp) from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_temporaries(folder: str | os.PathLike[str], pattern: str = "*") -> int:
    """Remove the temporaries that killed writers left in ``folder`` (files and folders).

    Only names this module makes are touched: a leading dot, ``pattern``'s final name and
    a ``.tmp`` suffix. Call it where no other writer is active on ``folder``.

    Args:
        folder: The folder to clean.
        pattern: Glob of the final names whose temporaries to remove (default: all).

    Returns:
        How many temporaries were removed.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> d = Path(tempfile.mkdtemp()); _ = (d / ".x.png.abc.tmp").write_bytes(b"")
        >>> remove_stale_temporaries(d)
        1
    """
    removed = 0
    for stale in Path(folder).glob(f".{pattern}.*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        removed += 1
    return removed
