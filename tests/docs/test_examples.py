"""The examples run end to end (with a tiny budget, offline)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .._app_files import write_tiny_demo_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # runs an example script end to end: 15 s
def test_retrofit_demo_writes_its_report(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "retrofit_demo.py"), "--steps", "2", "--perceiver-steps", "2",
         "--batch", "2", "--out", str(tmp_path)],
        check=True, env=env, capture_output=True, timeout=600,
    )
    report = json.loads((tmp_path / "results.json").read_text())
    assert set(report["results"]) == {"bare_l1", "wrapped_quality_aware"}
    assert set(report["results"]["bare_l1"]) == {"denoise", "derain", "dehaze"}
    assert report["note"].startswith("Offline run")
    assert (tmp_path / "results.md").read_text().count("|") > 10
    assert (tmp_path / "crops.png").stat().st_size > 10_000


@pytest.mark.slow  # runs an example script end to end: 13 s
def test_restore_photos_prints_a_row_per_photograph_and_degradation(tmp_path):
    write_tiny_demo_report(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "restore_photos.py"), "--report", str(tmp_path), "--photos", "coffee",
         "--degradations", "blur", "jpeg", "--tile", "128"],
        check=True, env=env, capture_output=True, text=True, timeout=600,
    )
    rows = [line for line in done.stdout.splitlines() if line.startswith("| coffee")]
    assert [row.split(" | ")[1] for row in rows] == ["blur", "jpeg"]
    assert all(" dB (" in row for row in rows)
