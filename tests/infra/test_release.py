"""The release workflow publishes on a version tag through PyPI trusted publishing, after checking the build."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_release_workflow_uses_trusted_publishing_on_tags():
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    triggers = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads the key `on` as True
    assert triggers == {"push": {"tags": ["v*"]}}
    assert doc["permissions"] == {}  # nothing by default; each job asks for what it needs
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    commands = "\n".join(step.get("run", "") for step in build["steps"])
    assert "python -m build" in commands and "twine check --strict" in commands
    assert "quickstart.py" in commands and 'v${version}' in commands
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert uses[-1].startswith("pypa/gh-action-pypi-publish@")
    assert not any("password" in str(step.get("with", {})) for step in publish["steps"])  # no stored token


def test_ci_runs_the_package_check():
    run = (ROOT / ".ci" / "run").read_text()
    assert ".ci/check_package" in run
    script = (ROOT / ".ci" / "check_package").read_text()
    for needle in ("python -m build --sdist --wheel", "twine check --strict", "python3 -m venv", "quickstart.py"):
        assert needle in script
