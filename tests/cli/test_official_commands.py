"""convert-official, and the authors' weights through restore, score and evaluate, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from perceive_ir.cli.main import main
from perceive_ir.data import save_png, write_filelist
from perceive_ir.models.official import PerceiveIRNet

from .._official_files import reference_tensors


@pytest.fixture
def clip_options(official_ref: Path) -> list[str]:
    perceiver = official_ref / "perceiver"
    return ["--clip-model", str(perceiver / "ref-clip-tiny.json"),
            "--clip-pretrained", str(perceiver / "clip_openai_tiny.safetensors")]


@pytest.fixture
def converted_restorer(official_ref: Path, tmp_path: Path) -> Path:
    out = tmp_path / "restorer"
    status = main(["convert-official", str(official_ref / "restorer" / "perceiveIR_500000.pth"), str(out),
                   "--semantic-encoder", str(official_ref / "restorer" / "dinov2_tiny")])
    assert status == 0
    return out


def test_convert_restore_and_evaluate_with_the_authors_restorer(
    official_ref: Path, converted_restorer: Path, tmp_path: Path
):
    inputs, expected = reference_tensors(official_ref, "restorer")
    save_png(inputs["image_0"][0], tmp_path / "in.png")
    assert main(["restore", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--model", str(converted_restorer),
                 "--device", "cpu", "--quiet"]) == 0
    assert (tmp_path / "out.png").is_file()

    rain = tmp_path / "rain" / "test"
    save_png(inputs["image_0"][0], rain / "rainy" / "rain-001.png")
    save_png(expected["restored_0"][0].clamp(0, 1), rain / "norain" / "norain-001.png")
    (filelist,) = write_filelist("rain100l", tmp_path / "rain", tmp_path / "lists", splits=["test"])
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(converted_restorer), "--filelist", str(filelist), "--out", str(out),
                 "--device", "cpu", "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert "PerceiveIRNet" in results["model"]
    # the clean image is the authors' output (8-bit): evaluate runs their network, not something else
    assert results["rows"][0]["psnr"] > 45


def test_restore_reads_the_authors_pth_directly(official_ref: Path, tmp_path: Path):
    inputs, _ = reference_tensors(official_ref, "restorer")
    save_png(inputs["image_1"][0], tmp_path / "in.png")
    assert main(["restore", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--device", "cpu", "--quiet",
                 "--model", str(official_ref / "restorer" / "perceiveIR_500000.pth"),
                 "--semantic-encoder", str(official_ref / "restorer" / "dinov2_tiny")]) == 0


def test_convert_and_score_with_the_authors_prompts(
    official_ref: Path, clip_options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
):
    prompts = official_ref / "perceiver" / "quality_prompts_100000.pth"
    assert main(["convert-official", str(prompts), str(tmp_path / "prompts"), *clip_options]) == 0
    assert "(prompts, SHA-256" in capsys.readouterr().out
    inputs, expected = reference_tensors(official_ref, "perceiver")
    save_png(inputs["image_2"][0], tmp_path / "image.png")
    capsys.readouterr()
    scores = []
    for perceiver in (str(tmp_path / "prompts"), str(prompts)):
        extra = clip_options if perceiver == str(prompts) else []
        assert main(["score", str(tmp_path / "image.png"), "--perceiver", perceiver, "--json", "--device", "cpu",
                     *extra]) == 0
        scores.append(json.loads(capsys.readouterr().out)[0])
    assert scores[0] == scores[1]
    # 8-bit PNG rounding moves the probabilities a little from the float reference
    probabilities = torch.tensor([scores[0][t] for t in ("low", "medium", "high")])
    assert (probabilities - expected["probabilities_2"][0]).abs().max() < 0.05


@pytest.mark.parametrize("case", ["random", "missing", "wrong-kind", "not-empty"])
def test_convert_errors_are_one_line_without_traceback(
    official_ref: Path, tmp_path: Path, capsys: pytest.CaptureFixture, case: str
):
    restorer = official_ref / "restorer" / "perceiveIR_500000.pth"
    destination = tmp_path / "out"
    args = ["convert-official", str(restorer), str(destination)]
    if case == "random":
        torch.save({"conv.weight": torch.zeros(2)}, tmp_path / "random.pth")
        args[1] = str(tmp_path / "random.pth")
    elif case == "missing":
        args[1] = str(tmp_path / "nope.pth")
    elif case == "wrong-kind":
        args += ["--kind", "prompts"]
    else:
        destination.mkdir()
        (destination / "keep.txt").write_text("mine")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    if case == "not-empty":
        assert (destination / "keep.txt").read_text() == "mine" and "--overwrite" in err


def test_converted_folder_is_a_plain_model_folder(converted_restorer: Path):
    config = json.loads((converted_restorer / "config.json").read_text())
    assert config["_class"] == "PerceiveIRNet" and config["semantic_layers"] == [1, 4, 8, 12]
    assert isinstance(PerceiveIRNet.from_pretrained(converted_restorer), PerceiveIRNet)


def test_converted_folders_work_from_any_folder(official_ref: Path, tmp_path: Path, monkeypatch):
    """Relative --semantic-encoder / --clip-pretrained paths are stored absolute; a .json CLIP config as a dict."""
    import shutil

    from perceive_ir import QualityPerceiver, load_model

    work = tmp_path / "work"
    shutil.copytree(official_ref / "restorer" / "dinov2_tiny", work / "dino")
    shutil.copytree(official_ref / "perceiver", work / "clip")
    monkeypatch.chdir(work)
    assert main(["convert-official", str(official_ref / "restorer" / "perceiveIR_500000.pth"), "restorer",
                 "--semantic-encoder", "dino"]) == 0
    prompts = str(official_ref / "perceiver" / "quality_prompts_100000.pth")
    assert main(["convert-official", prompts, "prompts", "--clip-model", "clip/ref-clip-tiny.json",
                 "--clip-pretrained", "clip/clip_openai_tiny.safetensors"]) == 0
    monkeypatch.chdir(tmp_path)
    assert isinstance(load_model("work/restorer").module, PerceiveIRNet)
    perceiver = QualityPerceiver.from_pretrained("work/prompts")
    config = json.loads((work / "prompts" / "config.json").read_text())
    assert isinstance(config["clip_model"], dict) and Path(config["clip_pretrained"]).is_absolute()
    # Python takes the .json config path the command line takes
    clip = official_ref / "perceiver"
    direct = QualityPerceiver.from_official(prompts, clip_model=str(clip / "ref-clip-tiny.json"),
                                            clip_pretrained=str(clip / "clip_openai_tiny.safetensors"))
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(direct(image), perceiver(image))
