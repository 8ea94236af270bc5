"""The restore, score and evaluate subcommands, on tiny models and images written at test time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchmetrics.functional import peak_signal_noise_ratio, structural_similarity_index_measure

from perceive_ir import QualityPerceiver
from perceive_ir.cli.main import main
from perceive_ir.data import FileListDataset, read_image, save_png, write_filelist
from perceive_ir.inference.restore import restore
from perceive_ir.models import load_model, register_model
from perceive_ir.models.checkpoint import save_restoration_model
from perceive_ir.models.presets import NAFNET_WRAP, nafnet_backbone, perceive_ir_nafnet


def _activate(model: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.adapter.semantic.parameters():
            if p.requires_grad and not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)


def tiny_model(tiny_dinov2=None):
    model = perceive_ir_nafnet("small", semantic_encoder=tiny_dinov2, image_size=28, probe_size=32,
                               backbone_kwargs={"width": 8}, hidden_dim=16, cond_dim=16)
    _activate(model)
    return model.eval()


@pytest.fixture
def model_dir(tmp_path, tiny_dinov2) -> Path:
    return save_restoration_model(tiny_model(tiny_dinov2), tmp_path / "model")


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    save_png(torch.rand(3, 40, 52), folder / "a.png")
    save_png(torch.rand(3, 33, 33), folder / "b.png")
    return folder


def test_restore_folder_matches_the_library(model_dir, images, tmp_path):
    out = tmp_path / "out"
    rc = main(["restore", str(images), str(out), "--model", str(model_dir), "--tile", "32", "--overlap", "8",
               "--device", "cpu", "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]  # no temporary files left
    model = load_model(model_dir).module
    for name in ("a", "b"):
        image = read_image(images / f"{name}.png")
        expected = restore(model, image, tile=32, overlap=8).clamp(0, 1)
        got = read_image(out / f"{name}.png")
        assert got.shape == image.shape
        assert (got - expected).abs().max() <= 0.5 / 255 + 1e-6  # only the 8-bit rounding


def test_restore_single_file_backbone_and_preset(model_dir, images, tmp_path):
    src = images / "a.png"
    assert main(["restore", str(src), str(tmp_path / "one.png"), "--model", str(model_dir), "--quiet"]) == 0
    assert read_image(tmp_path / "one.png").shape == (3, 40, 52)
    # a plain network from a spandrel checkpoint, alone
    bare = load_model(model_dir).module.backbone
    torch.save(bare.state_dict(), tmp_path / "naf.pth")
    assert main(["restore", str(src), str(tmp_path / "plain"), "--backbone", str(tmp_path / "naf.pth"), "--quiet"]) == 0
    expected = restore(bare, read_image(src), multiple=1).clamp(0, 1)
    assert (read_image(tmp_path / "plain" / "a.png") - expected).abs().max() <= 0.5 / 255 + 1e-6
    # a preset name with the backbone's weights: the adapter starts as the identity, so the output is
    # the bare network's (a random backbone, i.e. weights not loaded, would differ). 32×48 needs no
    # padding (the wrapper reflect-pads, the bare NAFNet zero-pads: borders would differ otherwise).
    src = tmp_path / "c.png"
    save_png(torch.rand(3, 32, 48), src)
    assert main(["restore", str(src), str(tmp_path / "plain"), "--backbone", str(tmp_path / "naf.pth"), "--quiet"]) == 0
    register_model("nafnet-test-tiny", lambda **kw: nafnet_backbone("small", width=8, **kw),
                   wrap={**NAFNET_WRAP, "semantic_encoder": None, "probe_size": 32}, overwrite=True)
    assert main(["restore", str(src), str(tmp_path / "p"), "--model", "nafnet-test-tiny",
                 "--backbone", str(tmp_path / "naf.pth"), "--quiet"]) == 0
    assert torch.equal(read_image(tmp_path / "p" / "c.png"), read_image(tmp_path / "plain" / "c.png"))
    assert main(["restore", str(src), str(tmp_path / "p"), "--model", "nafnet-small", "--backbone",
                 str(tmp_path / "naf.pth"), "--quiet"]) == 2  # width 16 preset, width 8 weights


def test_restore_errors(model_dir, images, tmp_path, capsys):
    assert main(["restore", str(tmp_path / "nothing"), str(tmp_path / "o"), "--model", str(model_dir)]) == 2
    assert "INPUT not found" in capsys.readouterr().err
    assert main(["restore", str(images), str(tmp_path / "o"), "--model", str(model_dir), "--half",
                 "--device", "cpu", "--quiet"]) == 2
    assert "half" in capsys.readouterr().err
    assert main(["restore", str(images), str(tmp_path / "o"), "--quiet"]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["restore", str(images), str(tmp_path / "o"), "--model", str(tmp_path / "no-such-model")]) == 2
    assert "not a local folder" in capsys.readouterr().err
    model_only_adapter = tmp_path / "adapter"
    tiny_model().save_pretrained(model_only_adapter)
    assert main(["restore", str(images), str(tmp_path / "o"), "--model", str(model_only_adapter)]) == 2
    assert "backbone" in capsys.readouterr().err


def _perceiver_dir(tmp_path: Path, tiny_clip_config: dict) -> Path:
    perceiver = QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=4)
    with torch.no_grad():
        perceiver.prompts.ctx.add_(torch.randn_like(perceiver.prompts.ctx))
    return perceiver.save_pretrained(tmp_path / "perceiver")


def test_score_json_and_table(images, tmp_path, tiny_clip_config, capsys):
    folder = _perceiver_dir(tmp_path, tiny_clip_config)
    assert main(["score", str(images), "--perceiver", str(folder), "--json", "--device", "cpu"]) == 0
    results = json.loads(capsys.readouterr().out)
    perceiver = QualityPerceiver.from_pretrained(folder).eval()
    assert [Path(r["image"]).name for r in results] == ["a.png", "b.png"]
    for r in results:
        assert abs(r["low"] + r["medium"] + r["high"] - 1) < 1e-5
        with torch.no_grad():
            expected = float(perceiver.score(read_image(r["image"])[None])[0])
        assert abs(r["score"] - expected) < 1e-5
    assert main(["score", str(images / "a.png"), "--perceiver", str(folder), "--clip-model", "tiny"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["image", "low", "medium", "high", "score"]
    assert abs(float(table[1].split()[-1]) - results[0]["score"]) < 1e-3
    assert main(["score", str(tmp_path / "none.png"), "--perceiver", str(folder)]) == 2


def _datasets(root: Path) -> list[Path]:
    gen = torch.Generator().manual_seed(0)

    def img(path: Path) -> None:
        save_png(torch.rand(3, 24, 30, generator=gen), path)

    for i in (1, 2):
        img(root / "cbsd68" / f"{i:02d}.png")
        img(root / "rain" / "test" / "rainy" / f"rain-{i:03d}.png")
        img(root / "rain" / "test" / "norain" / f"norain-{i:03d}.png")
    img(root / "sots" / "hazy" / "0001_0.8_0.2.png")
    img(root / "sots" / "gt" / "0001.png")
    lists = root / "lists"
    return [*write_filelist("cbsd68", root / "cbsd68", lists),
            *write_filelist("rain100l", root / "rain", lists, splits=["test"]),
            *write_filelist("sots_outdoor", root / "sots", lists)]


def test_evaluate_writes_rows_protocol_and_published_numbers(model_dir, tmp_path, capsys):
    lists = _datasets(tmp_path / "data")
    out = tmp_path / "results"
    args = ["evaluate", "--model", str(model_dir), "--out", str(out), "--tile", "16", "--overlap", "8",
            "--device", "cpu", "--quiet"]
    for f in lists:
        args += ["--filelist", str(f)]
    assert main(args) == 0
    doc = json.loads((out / "results.json").read_text())
    labels = [(r["label"], r["n"]) for r in doc["rows"]]
    assert labels == [("cbsd68 noise15", 2), ("cbsd68 noise25", 2), ("cbsd68 noise50", 2), ("rain100l", 2),
                      ("sots_outdoor", 1)]
    # one row recomputed independently
    model = load_model(model_dir).module
    rain = FileListDataset(lists[1])
    psnrs, ssims = [], []
    for sample in rain:
        restored = restore(model, sample["degraded"], tile=16, overlap=8).clamp(0, 1)[None].double()
        psnrs.append(float(peak_signal_noise_ratio(restored, sample["clean"][None].double(), data_range=1.0)))
        clean = sample["clean"][None].double()
        ssims.append(float(structural_similarity_index_measure(restored, clean, data_range=1.0)))
    row = doc["rows"][3]
    assert abs(row["psnr"] - sum(psnrs) / 2) < 1e-6 and abs(row["ssim"] - sum(ssims) / 2) < 1e-6
    assert doc["averages"]["3-task"]["complete"]
    mean5 = sum(r["psnr"] for r in doc["rows"]) / 5
    assert abs(doc["averages"]["3-task"]["psnr"] - mean5) < 1e-9
    assert doc["averages"]["5-task"]["missing"] == ["gopro", "lol"]
    assert doc["protocol"]["tiling"].startswith("tiles of 16 px")
    md = (out / "results.md").read_text()
    for needle in ("RGB", "whole image", "multiple of 16", "| cbsd68 noise25 | denoise | 2 |",
                   "PromptIR (published) | 32.06", "MoCE-IR (published) | 30.58", "Potlapalli et al.",
                   "**this model**", "incomplete: missing gopro, lol"):
        assert needle in md, needle
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "results.md"]


def test_evaluate_errors(model_dir, tmp_path, capsys):
    assert main(["evaluate", "--model", str(model_dir), "--filelist", str(tmp_path / "x.json"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "File list not found" in capsys.readouterr().err


def test_evaluate_limit_is_stated_and_duplicates_refused(model_dir, tmp_path, capsys):
    lists = _datasets(tmp_path / "data")
    base = ["evaluate", "--model", str(model_dir), "--device", "cpu", "--quiet"]
    assert main(base + ["--filelist", str(lists[1]), "--filelist", str(lists[1]), "--out", str(tmp_path / "r")]) == 2
    assert "twice" in capsys.readouterr().err
    assert main(base + ["--filelist", str(lists[0]), "--limit", "1", "--out", str(tmp_path / "r")]) == 0
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [r["n"] for r in doc["rows"]] == [1]  # the first item only: cbsd68 01 at σ 15
    assert "not the full test set" in doc["protocol"]["subset"]
    assert "not the full test set" in (tmp_path / "r" / "results.md").read_text()


class _TupleNet(torch.nn.Module):
    """Returns (a quality vector, the image, features), like FBCNN; ``scale`` 2 makes it super-resolution."""

    def __init__(self, scale: int = 1) -> None:
        super().__init__()
        self.body = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.head = torch.nn.Sequential(torch.nn.Conv2d(8, 3 * scale**2, 3, padding=1), torch.nn.PixelShuffle(scale))

    def forward(self, x):
        feats = self.body(x)
        return feats.mean(dim=(-2, -1)), torch.sigmoid(self.head(feats)), feats


def test_restore_and_evaluate_take_the_image_out_of_a_tuple_output(tmp_path, capsys):
    torch.manual_seed(0)
    nets = {1: _TupleNet(1).eval(), 2: _TupleNet(2).eval()}
    register_model("tuple-test-x1", lambda: nets[1], overwrite=True)
    register_model("tuple-test-x2", lambda: nets[2], overwrite=True)
    src = tmp_path / "c.png"
    save_png(torch.rand(3, 20, 26), src)
    image = read_image(src)
    for key in ([], ["--output-key", "1"]):
        assert main(["restore", str(src), str(tmp_path / "x1"), "--model", "tuple-test-x1", "--quiet", *key]) == 0
        with torch.no_grad():
            expected = nets[1](image[None])[1][0]
        assert torch.allclose(read_image(tmp_path / "x1" / "c.png"), expected, atol=1 / 255)
    assert main(["restore", str(src), str(tmp_path / "bad"), "--model", "tuple-test-x1", "--output-key", "0"]) == 2
    assert "`output`=0 (--output-key) selects" in capsys.readouterr().err
    # super-resolution: twice the size, tiled
    assert main(["restore", str(src), str(tmp_path / "x2"), "--model", "tuple-test-x2", "--tile", "16",
                 "--overlap", "4", "--quiet"]) == 0
    assert read_image(tmp_path / "x2" / "c.png").shape == (3, 40, 52)
    # evaluation compares with clean images of the input's size: x1 works, x2 is refused clearly
    lists = _datasets(tmp_path / "data")[:1]
    common = ["--filelist", str(lists[0]), "--limit", "1", "--quiet"]
    assert main(["evaluate", "--model", "tuple-test-x1", "--out", str(tmp_path / "r1"), *common]) == 0
    assert main(["evaluate", "--model", "tuple-test-x2", "--out", str(tmp_path / "r2"), *common]) == 2
    assert "a super-resolution network does not fit it" in capsys.readouterr().err


def test_restore_output_with_an_image_suffix_is_a_file(model_dir, images, tmp_path):
    out = tmp_path / "out" / "photo_restored.jpg"
    assert main(["restore", str(images / "a.png"), str(out), "--model", str(model_dir), "--quiet"]) == 0
    assert out.is_file()
    from PIL import Image

    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (52, 40)
    assert sorted(p.name for p in out.parent.iterdir()) == ["photo_restored.jpg"]


def test_restore_keeps_alpha(model_dir, tmp_path):
    import numpy as np
    from PIL import Image

    rgba = np.random.default_rng(0).integers(0, 256, (24, 32, 4), dtype=np.uint8)
    rgba[:4, :, 3] = 0  # a fully transparent band stays transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "logo.png")
    assert main(["restore", str(tmp_path / "logo.png"), str(tmp_path / "out.png"), "--model", str(model_dir),
                 "--quiet"]) == 0
    written = np.asarray(Image.open(tmp_path / "out.png"))
    assert written.shape == (24, 32, 4) and np.array_equal(written[..., 3], rgba[..., 3])


def test_restore_folder_goes_on_past_bad_images(model_dir, images, tmp_path, capsys):
    (images / "a_broken.png").write_bytes(b"not an image")  # sorts between a.png and b.png
    out = tmp_path / "out"
    rc = main(["restore", str(images), str(out), "--model", str(model_dir), "--quiet"])
    assert rc == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]  # the good ones after the bad one too
    err = capsys.readouterr().err
    assert "a_broken.png: Cannot read image" in err
    assert "error: 1 of 3 image(s) failed (a_broken.png); 2 restored" in err


@pytest.mark.parametrize("encoder", ["tiny", "none"])
def test_a_preset_restores_offline_with_the_offline_encoder_spellings(encoder, images, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / f"out-{encoder}.png"
    assert main(["restore", str(images / "b.png"), str(out), "--model", "nafnet-small", "--semantic-encoder", encoder,
                 "--quiet"]) == 0
    assert read_image(out).shape == (3, 33, 33)


def test_a_16_bit_photograph_is_restored_to_a_16_bit_png(model_dir, tmp_path):
    import numpy as np
    from PIL import Image

    from perceive_ir.data.io import read_image_file

    Image.fromarray((np.random.default_rng(0).random((24, 32)) * 65535).astype(np.uint16)).save(tmp_path / "scan.png")
    assert main(["restore", str(tmp_path / "scan.png"), str(tmp_path / "out.png"), "--model", str(model_dir),
                 "--quiet"]) == 0
    assert read_image_file(tmp_path / "out.png").bits == 16
    assert main(["restore", str(tmp_path / "scan.png"), str(tmp_path / "out.jpg"), "--model", str(model_dir),
                 "--quiet"]) == 0  # JPEG holds 8 bits: written at 8
