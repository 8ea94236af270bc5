"""Every ```python block of README.md and docs/*.md runs (```py marks illustrative fragments).

Blocks of one file share a namespace, in order, and run in a temporary working directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


#: Pages whose examples train or grow something for several seconds (11 s for amirnet.md on the shared
#: 2-core test box): marked ``slow``.
SLOW_DOCUMENTS = {"amirnet.md"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=[pytest.mark.slow] if p.name in SLOW_DOCUMENTS else [], id=p.name)
     for p in DOCUMENTS if _blocks(p)],
)
def test_documented_python_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for index, code in enumerate(_blocks(path)):
        try:
            exec(compile(code, f"{path.name}[block {index}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.name} block {index} failed: {err!r}\n{code}") from err
