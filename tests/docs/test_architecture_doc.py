"""docs/architecture.md names every module of the package, so the map matches the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "perceive_ir"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

#: Folders whose modules the page describes by one rule instead of by name.
BY_RULE = {
    "cli": "one module per command",
    "data/degradations": "one module per degradation",
}


def _modules() -> list[Path]:
    found = (p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    return sorted(m for m in found if m.parent.as_posix() not in BY_RULE or m.name.startswith("_"))


def test_the_rules_are_on_the_page() -> None:
    for rule in BY_RULE.values():
        assert rule in DOC


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_every_module_is_named(module: Path) -> None:
    assert f"`{module.name}`" in DOC or f"`{module.as_posix()}`" in DOC, (
        f"docs/architecture.md does not name perceive_ir/{module.as_posix()}: add it to its layer's list"
    )
