"""Atomic writes: the new content whole, or the old content and no temporaries; ordinary permissions."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import pytest

from perceive_ir._atomic import (
    WriteError,
    atomic_folder,
    atomic_write,
    atomic_write_bytes,
    remove_stale_temporaries,
)


@pytest.fixture
def umask():
    """A known umask for the test (restored afterwards)."""
    previous = os.umask(0o022)
    yield 0o022
    os.umask(previous)


def _raiser(error: BaseException):
    def fail(*args, **kwargs):
        raise error

    return fail


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_creates_folders_and_writes_everything(tmp_path, umask):
    target = tmp_path / "a" / "b" / "out.bin"
    chunks = [b"x" * 1000, b"y" * 3]
    assert atomic_write(target, lambda f: [f.write(c) for c in chunks]) == target
    assert target.read_bytes() == b"".join(chunks)
    assert _names(target.parent) == ["out.bin"]
    assert _mode(target) == 0o666 & ~umask  # not mkstemp's 0600


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_atomic_write_error_keeps_the_old_content_and_no_temporary(tmp_path, error):
    target = atomic_write_bytes(tmp_path / "out.bin", b"old")

    def write(f):
        f.write(b"half of the new cont")
        raise error

    with pytest.raises(type(error)):
        atomic_write(target, write)
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == ["out.bin"]


def test_atomic_write_error_leaves_no_file_where_there_was_none(tmp_path):
    with pytest.raises(ValueError, match="nope"):
        atomic_write(tmp_path / "new.bin", _raiser(ValueError("nope")))
    assert _names(tmp_path) == []


def test_a_failed_rename_leaves_the_old_content(tmp_path, monkeypatch):
    target = atomic_write_bytes(tmp_path / "out.bin", b"old")
    monkeypatch.setattr(os, "replace", _raiser(OSError("cross-device")))
    with pytest.raises(OSError, match="cross-device"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and _names(tmp_path) == ["out.bin"]


def test_atomic_write_bytes_replaces(tmp_path, umask):
    target = tmp_path / "x.bin"
    atomic_write_bytes(target, b"\x00\x01")
    atomic_write_bytes(str(target), b"\x02")  # str paths too
    assert target.read_bytes() == b"\x02" and _names(tmp_path) == ["x.bin"]
    assert _mode(target) == 0o644


def test_atomic_folder_replaces_the_folder_whole(tmp_path, umask):
    target = tmp_path / "run"
    with atomic_folder(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not target.exists()
        (tmp / "old.txt").write_text("old")
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("a")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("b")
    assert _names(target) == ["a.txt", "sub"]  # the old folder's files are gone with it
    assert (target / "sub" / "b.txt").read_text() == "b"
    assert _names(tmp_path) == ["run"]
    assert _mode(target) == 0o777 & ~umask  # not mkdtemp's 0700


@pytest.mark.parametrize("error", [RuntimeError("crash"), KeyboardInterrupt()])
def test_atomic_folder_error_keeps_the_old_folder_and_no_temporary(tmp_path, error):
    target = tmp_path / "run"
    with atomic_folder(target) as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(type(error)), atomic_folder(target) as tmp:
        (tmp / "new.txt").write_text("new")
        raise error
    assert _names(target) == ["old.txt"] and (target / "old.txt").read_text() == "old"
    assert _names(tmp_path) == ["run"]


def test_remove_stale_temporaries_removes_only_its_own_names(tmp_path):
    (tmp_path / ".weights.safetensors.k2j3.tmp").write_bytes(b"half")
    (tmp_path / ".run.x8a.tmp").mkdir()
    (tmp_path / ".run.x8a.tmp" / "inside.txt").write_text("x")
    keep = [".hidden", "weights.safetensors", "notes.tmp", ".weights.safetensors", ".tmp"]
    for name in keep:
        (tmp_path / name).write_bytes(b"")
    assert remove_stale_temporaries(tmp_path) == 2
    assert _names(tmp_path) == sorted(keep)
    assert remove_stale_temporaries(tmp_path) == 0


def test_remove_stale_temporaries_pattern_limits_the_names(tmp_path):
    (tmp_path / ".a.png.1.tmp").write_bytes(b"")
    (tmp_path / ".b.png.2.tmp").write_bytes(b"")
    (tmp_path / ".c.json.3.tmp").write_bytes(b"")
    assert remove_stale_temporaries(tmp_path, "*.png") == 2
    assert _names(tmp_path) == [".c.json.3.tmp"]


def test_a_writer_killed_before_the_rename_leaves_what_the_cleaner_removes(tmp_path, monkeypatch):
    # a killed process runs no cleanup: stop the writer at the rename and skip its unlink
    monkeypatch.setattr(os, "replace", _raiser(SystemExit()))
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    with pytest.raises(SystemExit):
        atomic_write_bytes(tmp_path / "image.png", b"data")
    monkeypatch.undo()
    (leftover,) = _names(tmp_path)
    assert leftover.startswith(".image.png.") and leftover.endswith(".tmp")
    assert remove_stale_temporaries(tmp_path, "other.png") == 0
    assert remove_stale_temporaries(tmp_path, "image.png") == 1 and _names(tmp_path) == []


def _disk_full(file):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_write_failures_name_the_destination_and_the_cause(tmp_path):
    target = tmp_path / "model.safetensors"
    with pytest.raises(WriteError, match=rf"Cannot write {re.escape(str(target))}: the disk is full") as info:
        atomic_write(target, _disk_full)
    assert ".tmp" not in str(info.value) and info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "folder").mkdir()
    with pytest.raises(WriteError, match="folder: it is a folder, not a file"):
        atomic_write_bytes(tmp_path / "folder", b"x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match=r"file/out.png: a part of its path is a file, not a folder"):
        atomic_write_bytes(tmp_path / "file" / "out.png", b"x")
    with pytest.raises(WriteError, match=r"run: the disk is full"), atomic_folder(tmp_path / "run") as tmp:
        _disk_full(tmp)
    assert not (tmp_path / "run").exists()


def test_errors_about_other_files_pass_through(tmp_path):
    def read_elsewhere(file):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "someone-elses.txt"))

    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "out.bin", read_elsewhere)
    assert not isinstance(info.value, WriteError)
