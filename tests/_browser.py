"""A real headless Chromium for the web page's tests (Debian's, driven by Playwright), and a served page.

Where no Chromium is installed the browser tests skip and say how to get one; in CI (``CI`` set)
they fail instead, because ``.ci/run`` installs it (``.ci/install_browser``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

#: Flags for a root user on a machine without network or GPU: no sandbox (root), and no
#: background connections (they would be refused, many at a time, on a closed network).
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs the browser with .ci/install_browser)")
    pytest.skip(reason)


def chromium_executable() -> str:
    """``PERCEIVE_IR_CHROMIUM``, else the first Chromium or Chrome on the PATH; skips (fails in CI) without one."""
    for candidate in (os.environ.get("PERCEIVE_IR_CHROMIUM"), *map(shutil.which, ("chromium", "chromium-browser",
                                                                                 "google-chrome"))):
        if candidate and Path(candidate).is_file():
            return candidate
    _unavailable("no Chromium found: install Debian's (apt-get install chromium) or set PERCEIVE_IR_CHROMIUM")
    raise AssertionError("unreachable")


def sync_playwright():  # noqa: ANN201 (playwright's context manager)
    """Playwright's sync API; skips (fails in CI) where the package is missing."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    return start()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("perceive-ir")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from perceive_ir.cli.main import main; sys.exit(main())"]


@contextmanager
def served_app(args: Sequence[str], log: Path, timeout: float = 180.0) -> Iterator[str]:
    """Run ``perceive-ir app ARGS --port P`` and yield its address once it answers; stop it after."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "wb") as out:
        process = subprocess.Popen([*_console_script(), "app", *args, "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"perceive-ir app exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"perceive-ir app did not answer on {url} in {timeout:.0f} s:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
