"""One request of the web page without the page: degrade, restore (tiled when large), rate, measure."""

import pytest
import torch
from torch import nn

from perceive_ir.apps.photo_restoration import restore_photo
from perceive_ir.data import get_degradation
from perceive_ir.inference import count_tiles
from perceive_ir.models import ModelDescriptor, load_model
from perceive_ir.perceive.perceiver import QualityPerceiver


@pytest.fixture(scope="module")
def wrapped(tiny_report) -> ModelDescriptor:
    _, saved = tiny_report
    return load_model(saved.models["demo: wrapped (quality-aware)"])


@pytest.fixture(scope="module")
def perceiver(tiny_report) -> QualityPerceiver:
    return QualityPerceiver.from_pretrained(tiny_report[1].perceiver)


def test_a_synthesised_degradation_is_seeded_restored_rated_and_measured(wrapped, perceiver):
    photo = torch.rand(3, 40, 56)
    result = restore_photo(photo, wrapped, degradation="rain", seed=3, perceiver=perceiver, tile=None)
    assert torch.equal(result.degraded, get_degradation("rain")(photo, seed=3))  # the same seed, the same input
    assert result.restored.shape == photo.shape and 0 <= result.restored.min() and result.restored.max() <= 1
    assert result.tiles == 1 and result.device == "cpu" and result.seconds > 0
    for tiers in (result.input_tiers, result.output_tiers):
        assert list(tiers) == ["low", "medium", "high"] and sum(tiers.values()) == pytest.approx(1, abs=1e-5)
    with torch.no_grad():
        expected = perceiver.probabilities(result.restored[None])[0]
    assert list(result.output_tiers.values()) == pytest.approx(expected.tolist(), abs=1e-6)
    mse = float(((result.restored - photo) ** 2).mean())
    assert result.psnr_restored == pytest.approx(-10 * torch.log10(torch.tensor(mse)).item(), abs=1e-3)
    text = result.summary("demo: wrapped")
    assert "Restored 56×40 with **demo: wrapped** on cpu" in text and "synthesised `rain`" in text
    assert f"({result.psnr_restored - result.psnr_input:+.2f} dB)" in text


def test_a_large_photograph_restores_in_tiles_with_the_whole_images_guidance(wrapped):
    photo = torch.rand(3, 150, 230)
    result = restore_photo(photo, wrapped, tile=60, overlap=16)  # 60 rounds up to the model's multiple, 64
    assert result.tiles == count_tiles(150, 230, tile=64, overlap=16, multiple=16) > 1
    whole = restore_photo(photo, wrapped, tile=None)
    assert (result.restored - whole.restored).abs().max() < 0.05  # blended tiles stay close to the whole image
    assert result.degradation is None and torch.equal(result.degraded, photo)
    assert result.psnr_input is None and result.input_tiers is None
    assert "as it is (no clean reference, so no PSNR)" in result.summary("m") and "in " in result.summary("m")


def test_a_super_resolution_network_gives_no_psnr_against_the_smaller_photograph():
    x2 = ModelDescriptor(nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)), 1, "x2")
    result = restore_photo(torch.rand(3, 20, 30), x2, degradation="blur")
    assert result.restored.shape == (3, 40, 60) and result.psnr_input is not None and result.psnr_restored is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"photo": torch.rand(1, 3, 8, 8)}, TypeError, r"`photo` must be a \(3, H, W\) tensor, got \(1, 3, 8, 8\)"),
        ({"photo": torch.rand(3, 8, 8) * 3}, ValueError, "photo"),
        ({"degradation": "fog"}, ValueError, "fog"),
        ({"seed": -1}, ValueError, "`seed`"),
        ({"tile": 0}, ValueError, "`tile`"),
    ],
)
def test_bad_requests_name_what_was_wrong(wrapped, kwargs, error, match):
    args = {"photo": torch.rand(3, 16, 16), **kwargs}
    with pytest.raises(error, match=match):
        restore_photo(args.pop("photo"), wrapped, **args)


def test_the_progress_bar_counts_the_tiles(wrapped, monkeypatch):
    import tqdm.auto

    bars = []

    class RecordingBar(tqdm.auto.tqdm):  # the bar the web page follows (gr.Progress(track_tqdm=True))
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    result = restore_photo(torch.rand(3, 100, 150), wrapped, tile=64, overlap=16, progress=True)
    assert result.tiles > 1 and [(bar.desc, bar.total, bar.n) for bar in bars] == [
        ("tiles", result.tiles, result.tiles)]
