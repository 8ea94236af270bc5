"""write_report takes one DemoReportInputs (its former keywords still work, but not both at once)."""

from __future__ import annotations

import dataclasses

import pytest

from perceive_ir.apps.demo_report import DemoReportInputs, write_report


def test_the_inputs_group_the_former_keywords():
    names = [f.name for f in dataclasses.fields(DemoReportInputs)]
    assert names == ["settings", "results", "curves", "perceiver", "test_sets", "models", "manifest", "hooked_layers",
                     "multiple", "loss_note", "tier_accuracy", "seconds", "official_tier_accuracy", "saved"]


def test_inputs_or_keywords_not_both(tmp_path):
    inputs = object.__new__(DemoReportInputs)  # never read: the call is refused first
    with pytest.raises(TypeError, match=r"not both: got \['seconds'\] too"):
        write_report(tmp_path, inputs, seconds=1.0)
    with pytest.raises(TypeError, match="missing"):  # the keywords must still give every field
        write_report(tmp_path, seconds=1.0)
    assert not any(tmp_path.iterdir())
