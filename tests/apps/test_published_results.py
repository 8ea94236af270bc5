"""The published-number table: both settings, every method of the design notes, documented as in the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from perceive_ir.apps.published_results import PUBLISHED_RESULTS, SETTINGS, published_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


def test_settings_and_methods():
    assert {r.setting for r in PUBLISHED_RESULTS} == set(SETTINGS) == {"3-task", "5-task"}
    assert [r.method for r in published_for("3-task")] == ["AirNet", "PromptIR", "Perceive-IR", "AdaIR", "MoCE-IR"]
    assert all(len(keys) == 5 for keys in SETTINGS.values())
    assert all(20 < r.psnr < 40 and 0.8 < r.ssim < 1 and r.citation for r in PUBLISHED_RESULTS)
    with pytest.raises(ValueError, match="setting"):
        published_for("7-task")


def test_documented_table_matches_the_data():
    text = DOC.read_text(encoding="utf-8")
    for r in PUBLISHED_RESULTS:
        assert f"| {r.method} | {r.setting} | {r.psnr:.2f} | {r.ssim:.3f} |" in text, r


def test_promptir_five_task_number_is_cited_to_the_perceive_ir_paper():
    (row,) = [r for r in published_for("5-task") if r.method == "PromptIR"]
    assert row.citation.startswith("PromptIR as reported in Zhang et al., Perceive-IR")
    (own,) = [r for r in published_for("3-task") if r.method == "PromptIR"]
    assert own.citation.startswith("Potlapalli et al., PromptIR")
