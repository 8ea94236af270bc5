"""The README's test command is exactly what CI runs (``.ci/run``'s last line)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_test_command_is_what_ci_runs():
    ci_command = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert ci_command in readme, f"README.md does not give .ci/run's command: {ci_command}"
    assert "python -m pytest" in ci_command and "install_browser" in ci_command
