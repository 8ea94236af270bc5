"""A tiny demo report (random networks, saved as ``perceive-ir demo`` saves them), written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from perceive_ir.apps.demo_models import DemoModels

from .._app_files import write_tiny_demo_report


@pytest.fixture(scope="session")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoModels]:
    folder = tmp_path_factory.mktemp("demo-report")
    return folder, write_tiny_demo_report(folder)
