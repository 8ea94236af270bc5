"""``perceive-ir demo`` runs end to end with a tiny budget, offline, and writes its report."""

import json

import pytest
import torch

from perceive_ir.apps.demo_models import read_demo_models
from perceive_ir.cli.main import main
from perceive_ir.models import load_model


@pytest.mark.slow  # the whole demo, both stages: 16 s
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
    # the trained networks and the perceiver are kept for `perceive-ir app` and load_model
    saved = read_demo_models(out)
    assert list(saved.models) == ["demo: bare (L1)", "demo: wrapped (quality-aware)"] and saved.perceiver is not None
    assert doc["saved_models"] == {label: str(path) for label, path in saved.models.items()}
    assert f"perceive-ir app --demo-report {out}" in text
    image = torch.rand(1, 3, 32, 32)
    for path in saved.models.values():
        assert load_model(path).module(image).shape == image.shape


@pytest.mark.slow  # the whole demo with the authors' weights: 15 s
def test_demo_shows_the_authors_weights(tmp_path, official_ref):
    out = tmp_path / "report"
    perceiver, restorer = official_ref / "perceiver", official_ref / "restorer"
    code = main(["demo", "--out", str(out), "--steps", "1", "--perceiver-steps", "1", "--crossfit-steps", "1",
                 "--scenes-per-photo", "1", "--batch-size", "4", "--no-progress",
                 "--official-prompts", str(perceiver / "quality_prompts_100000.pth"),
                 "--official-clip-model", str(perceiver / "ref-clip-tiny.json"),
                 "--official-clip-pretrained", str(perceiver / "clip_openai_tiny.safetensors"),
                 "--official-restorer", str(restorer / "perceiveIR_500000.pth"),
                 "--official-semantic-encoder", str(restorer / "dinov2_tiny")])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    assert set(doc["results"]) == {"bare_l1", "wrapped_quality_aware", "authors_restorer"}
    assert all(r["images"] == 4 for r in doc["results"]["authors_restorer"].values())
    authors = doc["authors_perceiver_held_out_tier_accuracy"]
    assert authors["triplets"] == 12 and 0 <= authors["accuracy"] <= 1
    text = (out / "results.md").read_text()
    assert "authors_restorer PSNR / SSIM (gain)" in text and "The authors' stage-1 prompts on the same 12" in text
    assert "authors' restorer" in doc["perceiver_tier_probabilities"]["by_task"]["denoise"]


def test_demo_names_a_missing_official_file_by_its_flag(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path / "r"), "--official-restorer", str(tmp_path / "none.pth")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--official-restorer" in err and "Traceback" not in err
