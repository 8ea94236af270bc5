"""The README's test command is exactly what CI runs (``.ci/run``'s last line)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_test_command_is_what_ci_runs():
    ci_command = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert ci_command in readme, f"README.md does not give .ci/run's command: {ci_command}"
    assert "python -m pytest" in ci_command and "install_browser" in ci_command


def test_ci_checks_the_package_types_with_the_pinned_mypy():
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")
    ci_command = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert "&& .venv/bin/mypy &&" in ci_command, ".ci/run does not run mypy"
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = settings["tool"]["mypy"]
    assert mypy["files"] == ["perceive_ir"] and mypy["disallow_untyped_defs"] and mypy["warn_unused_ignores"]
    assert not mypy.get("ignore_missing_imports"), "untyped packages are listed in [[tool.mypy.overrides]] instead"
    assert any(dep.startswith("mypy") for dep in settings["project"]["optional-dependencies"]["dev"])
    pins = (ROOT / ".ci" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("mypy==") for line in pins), ".ci/constraints.txt does not pin mypy"
