"""The web page without a browser: its parts, the Restore handler's answers, and a clear word without Gradio."""

import sys

import gradio as gr
import numpy as np
import pytest
import torch
from torch import nn

from perceive_ir.apps.model_catalog import ModelCatalog
from perceive_ir.apps.photo_restoration import restore_photo
from perceive_ir.apps.web_page import (
    AS_IT_IS,
    PageSettings,
    _comparison,
    _restore_handler,
    build_page,
    import_gradio,
)
from perceive_ir.cli.main import main
from perceive_ir.models import ModelDescriptor
from perceive_ir.perceive.perceiver import QualityPerceiver

from .._official_files import clip_args


def _quiet(*args, **kwargs):  # stands in for Gradio's progress tracker outside a request
    return None


@pytest.fixture(scope="module")
def handler(tiny_report):
    folder, saved = tiny_report
    settings = PageSettings(perceiver=QualityPerceiver.from_pretrained(saved.perceiver), tile=64, device="cpu")
    return _restore_handler(ModelCatalog.from_sources(demo_report=folder), settings, gr)


def test_the_page_has_every_control_and_output(tiny_report):
    page = build_page(ModelCatalog.from_sources(demo_report=tiny_report[0]))
    ids = {getattr(block, "elem_id", None) for block in page.blocks.values()}
    assert {"photo", "bundled", "degradation", "seed", "model", "model-path", "restore", "comparison", "input-tiers",
            "output-tiers", "summary"} <= ids
    assert type(page).__name__ == "Blocks"


def test_the_handler_returns_the_comparison_the_ratings_and_the_summary(handler):
    photo = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    (degraded, restored), rated_in, rated_out, summary = handler(photo, None, "noise25", 0, "demo: bare (L1)", "",
                                                                 progress=_quiet)
    assert degraded.shape == restored.shape == (70, 90, 3) and restored.dtype == np.uint8
    assert not np.array_equal(degraded, photo)  # the synthesised noise
    assert set(rated_in) == set(rated_out) == {"low", "medium", "high"}
    assert "Restored 90×70 with **demo: bare (L1)** on cpu" in summary and "(in 4 tiles)" in summary

    (as_is, _), *_ = handler(photo, None, AS_IT_IS, 0, "demo: bare (L1)", "", progress=_quiet)
    assert np.array_equal(as_is, photo)


@pytest.mark.parametrize(
    ("photo", "path", "match"),
    [
        (None, "", "Upload a photograph or pick a bundled one first."),
        (np.zeros((8, 8, 3), np.uint8), "/no/such/model", "'/no/such/model' is not a model label"),
    ],
)
def test_a_bad_request_is_a_message_for_the_page(handler, photo, path, match):
    with pytest.raises(gr.Error, match=match):
        handler(photo, None, "noise25", 0, "demo: bare (L1)", path, progress=_quiet)


def test_a_bundled_photograph_picked_a_moment_ago_restores(handler):
    """Restore clicked before the dropdown's photograph reached the image box: the handler loads it itself."""
    (degraded, restored), *_ = handler(None, "chelsea", AS_IT_IS, 0, "demo: bare (L1)", "", progress=_quiet)
    assert degraded.shape == restored.shape == (300, 451, 3)


def test_the_ratings_carry_the_perceivers_caveat(tiny_report):
    note = "the demo's perceiver: minutes of CPU training, a rough indication"
    settings = PageSettings(perceiver=QualityPerceiver.from_pretrained(tiny_report[1].perceiver), device="cpu",
                            perceiver_note=note)
    rated = _restore_handler(ModelCatalog.from_sources(demo_report=tiny_report[0]), settings, gr)
    *_, summary = rated(np.zeros((16, 16, 3), np.uint8), None, "blur", 0, "demo: bare (L1)", "", progress=_quiet)
    assert summary.endswith(f"Ratings: {note}")
    page = build_page(ModelCatalog.from_sources(demo_report=tiny_report[0]), settings)
    labels = [getattr(b, "label", "") or "" for b in page.blocks.values()]
    assert f"Perceiver on the input ({note})" in labels


def test_a_page_without_a_perceiver_says_how_to_add_one(tiny_report):
    bare = _restore_handler(ModelCatalog.from_sources(demo_report=tiny_report[0]), PageSettings(device="cpu"), gr)
    _, rated_in, _, _ = bare(np.zeros((16, 16, 3), np.uint8), None, "blur", 0, "demo: bare (L1)", "", progress=_quiet)
    assert rated_in == {"no perceiver: start the page with --perceiver": 1.0}


def test_a_super_resolution_input_is_enlarged_to_slide_over_its_output():
    x2 = ModelDescriptor(nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)), 1, "x2")
    smooth = torch.linspace(0, 1, 30).expand(3, 20, 30) * torch.linspace(0.5, 1, 20)[:, None]
    result = restore_photo(smooth, x2)
    shown_in, shown_out = _comparison(result)
    assert shown_in.shape == shown_out.shape == (40, 60, 3)
    small = torch.from_numpy(shown_in).permute(2, 0, 1).float()[None]
    back = torch.nn.functional.avg_pool2d(small, 2)[0] / 255  # the enlarged input still shows the input
    assert (back - result.degraded).abs().mean() < 0.01


def test_settings_and_catalogs_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match="`default_degradation` must be one of"):
        PageSettings(default_degradation="fog")
    with pytest.raises(ValueError, match=r"`overlap` must be an int in \[0, tile=64\)"):
        PageSettings(tile=64, overlap=64)
    with pytest.raises(ValueError, match="`tile` must be"):
        PageSettings(tile=0)
    with pytest.raises(ValueError, match="offers no model and takes no path"):
        build_page(ModelCatalog({}, allow_paths=False))


def test_without_gradio_the_command_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # what an environment without the extra sees
    with pytest.raises(ImportError, match=r"pip install 'perceive-ir\[app\]'"):
        import_gradio()
    assert main(["app", "--model", "nafnet-small"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'perceive-ir[app]'" in err and "Traceback" not in err


def test_the_authors_weights_serve_on_the_page(official_ref, tmp_path, monkeypatch, capsys):
    """``perceive-ir app`` with the authors' restorer (.pth and converted) and prompts; the page restores with them."""
    from perceive_ir.apps import web_page
    from perceive_ir.inference import restore
    from perceive_ir.models import load_official, model_multiple

    restorer, prompts = official_ref / "restorer", official_ref / "perceiver"
    pth, dinov2 = restorer / "perceiveIR_500000.pth", restorer / "dinov2_tiny"
    converted = tmp_path / "converted"
    assert main(["convert-official", str(pth), str(converted), "--semantic-encoder", str(dinov2)]) == 0
    (tmp_path / "empty-report").mkdir()
    built = {}

    def serve(page, **kwargs):  # stands in for the server: keep the page, do not block
        built.update(page=page, **kwargs)
        return "http://127.0.0.1:0/"

    monkeypatch.setattr(web_page, "launch_page", serve)
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    code = main(["app", "--demo-report", str(tmp_path / "empty-report"), "--model", str(converted), "--model", str(pth),
                 "--semantic-encoder", str(dinov2), "--perceiver", str(prompts / "quality_prompts_100000.pth"),
                 "--clip-model", str(prompts / "ref-clip-tiny.json"),
                 "--clip-pretrained", str(prompts / "clip_openai_tiny.safetensors"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"models {tmp_path.name}/converted, restorer/perceiveIR_500000.pth; perceiver" in err
    assert built["host"] == "127.0.0.1" and built["block"] is False

    catalog = ModelCatalog.from_sources([str(converted), str(pth)], semantic_encoder=str(dinov2))
    perceiver = QualityPerceiver.from_official(prompts / "quality_prompts_100000.pth", **clip_args(official_ref))
    handler = _restore_handler(catalog, PageSettings(perceiver=perceiver, tile=None, device="cpu"), gr)
    photo = (np.random.default_rng(1).random((40, 56, 3)) * 255).astype(np.uint8)
    authors = load_official(pth, semantic_encoder=str(dinov2))
    for label in catalog.labels:
        (degraded, restored), _, rated_out, summary = handler(photo, None, AS_IT_IS, 0, label, "", progress=_quiet)
        expected = restore(authors, torch.from_numpy(photo).permute(2, 0, 1).float() / 255,
                           multiple=model_multiple(authors)).clamp(0, 1)
        expected = (expected * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        assert np.abs(restored.astype(int) - expected).max() <= 1 and set(rated_out) == {"low", "medium", "high"}
        assert f"with **{label}**" in summary


def test_uploads_follow_the_image_policy_and_bad_ones_are_a_message(tmp_path):
    """The page reads uploads as the library does (16-bit scaled, not clipped); an unreadable one names the file."""
    from gradio.data_classes import ImageData
    from PIL import Image

    from perceive_ir.apps.web_page import _read_uploads_with_the_library

    box = _read_uploads_with_the_library(gr.Image(type="numpy", image_mode="RGB", format="png"), gr)
    grey16 = tmp_path / "upload.png"
    Image.fromarray(np.full((6, 5), 32768, np.uint16)).save(grey16)
    array = box.preprocess(ImageData(path=str(grey16), orig_name="scan.png"))
    assert array.shape == (6, 5, 3) and array.dtype == np.uint8 and (array == 128).all()
    broken = tmp_path / "upload2.png"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(gr.Error, match=r"Cannot read image holiday\.png: .*Upload a PNG, JPEG"):
        box.preprocess(ImageData(path=str(broken), orig_name="holiday.png"))
