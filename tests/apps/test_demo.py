"""``perceive-ir demo`` runs end to end with a tiny budget, offline, and writes its report."""

import json

import pytest

from perceive_ir.cli.main import main


def test_demo_writes_the_report(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["demo", "--out", str(out), "--steps", "2", "--perceiver-steps", "2", "--crossfit-steps", "2",
                 "--scenes-per-photo", "1", "--batch-size", "4", "--no-progress"])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["note"].startswith("Offline run")  # said at the top of the report
    assert set(doc["results"]) == {"bare_l1", "wrapped_quality_aware"}
    for results in doc["results"].values():
        assert set(results) == {"denoise", "derain", "dehaze"}
        assert all(r["images"] == 4 and 0 < r["ssim"] <= 1 for r in results.values())
        assert all(r["psnr_input"] < 40 and 0 < r["ssim_input"] < 1 for r in results.values())
    accuracy = doc["perceiver_held_out_tier_accuracy"]
    assert accuracy["triplets"] == 12 and abs(accuracy["chance"] - 1 / 3) < 1e-9  # 4 test scenes × 3 tasks
    assert 0 <= accuracy["accuracy"] <= 1
    assert accuracy["accuracy"] == pytest.approx(
        sum(accuracy[f"{t}_recall"] for t in ("low", "medium", "high")) / 3)
    assert doc["wall_seconds"] > 0
    probs = doc["perceiver_tier_probabilities"]["by_task"]["denoise"]["degraded"]
    assert abs(sum(probs) - 1) < 0.01
    text = (out / "results.md").read_text()
    assert text.startswith("# perceive-ir demo\n\n> Offline run")
    assert "held-out triplets" in text and "against chance 0.33" in text and "Wall time" in text
    assert (out / "curves.png").stat().st_size > 5_000 and (out / "crops.png").stat().st_size > 20_000
    assert "Report:" in capsys.readouterr().out
