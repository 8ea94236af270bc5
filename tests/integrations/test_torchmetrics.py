"""PerceiveIRQuality / perceive_ir_quality: torchmetrics' contract, the output modes, two processes, bad inputs."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from perceive_ir import QualityPerceiver
from perceive_ir.data import save_png
from perceive_ir.integrations.torchmetrics import PerceiveIRQuality, perceive_ir_quality
from perceive_ir.perceive.perceiver_source import load_perceiver

from .._official_files import clip_args, reference_tensors
from . import _quality_worker

TIERS = ("low", "medium", "high")
VALUES = torch.tensor([0.0, 0.5, 1.0])
MODES = [(output, reduction) for output in ("score", "probs", "tier") for reduction in ("mean", "sum", "none")]


def _perceiver(tiny_clip_config: dict) -> QualityPerceiver:
    perceiver = QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=4)
    with torch.no_grad():  # random prompts far apart: the tiers' probabilities differ from image to image
        perceiver.prompts.ctx.add_(3 * torch.randn_like(perceiver.prompts.ctx))
    return perceiver.eval()


@pytest.fixture
def perceiver(tiny_clip_config: dict) -> QualityPerceiver:
    return _perceiver(tiny_clip_config)


def _images(n: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, 32, 40, generator=torch.Generator().manual_seed(seed))


def _expected(probs: torch.Tensor, output: str, reduction: str):
    """What each mode means, from QualityPerceiver.probabilities, written out per case."""
    n = probs.shape[0]
    tiers = probs.argmax(dim=-1)
    if output == "score":
        per_image = probs @ VALUES
        return {"mean": per_image.mean(), "sum": per_image.sum(), "none": per_image}[reduction]
    if output == "probs":
        reduce = {"mean": lambda v: v.mean(), "sum": lambda v: v.sum(), "none": lambda v: v}[reduction]
        return {t: reduce(probs[:, i]) for i, t in enumerate(TIERS)}
    if reduction == "none":
        return tiers
    counts = {t: (tiers == i).sum() for i, t in enumerate(TIERS)}
    return counts if reduction == "sum" else {t: c / n for t, c in counts.items()}


def _assert_same(actual, expected) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected)
        for key in expected:
            _assert_same(actual[key], expected[key])
        return
    assert isinstance(actual, torch.Tensor) and actual.shape == expected.shape
    if expected.is_floating_point():
        torch.testing.assert_close(actual, expected.to(actual.dtype), atol=1e-6, rtol=1e-5)
    else:
        assert torch.equal(actual.long(), expected.long())


def test_the_metadata_of_a_no_reference_metric(perceiver):
    metric = PerceiveIRQuality(perceiver)
    assert (metric.higher_is_better, metric.is_differentiable, metric.full_state_update) == (True, False, False)
    assert (metric.plot_lower_bound, metric.plot_upper_bound) == (0.0, 1.0)
    assert (metric.lower_better, metric.score_range) == (False, (0.0, 1.0))  # pyiqa's spelling


@pytest.mark.parametrize(("output", "reduction"), MODES)
def test_every_mode_agrees_with_the_perceivers_probabilities(perceiver, output, reduction):
    images = _images()
    with torch.no_grad():
        probs = perceiver.probabilities(images)
    assert len(set(probs.argmax(-1).tolist())) > 1  # the tier cases are not all one tier
    expected = _expected(probs, output, reduction)
    metric = PerceiveIRQuality(perceiver, output=output, reduction=reduction)
    metric.update(images)
    _assert_same(metric.compute(), expected)
    _assert_same(perceive_ir_quality(images, perceiver, output=output, reduction=reduction), expected)


@pytest.mark.parametrize(("output", "reduction"), MODES)
def test_batch_splits_give_the_result_of_one_batch(perceiver, output, reduction):
    images = _images()
    metric = PerceiveIRQuality(perceiver, output=output, reduction=reduction)
    for part in images.split([3, 1, 4]):
        metric.update(part)
    _assert_same(metric.compute(), perceive_ir_quality(images, perceiver, output=output, reduction=reduction))


def test_update_compute_reset_and_forward(perceiver):
    first, second = _images(4, seed=1), _images(3, seed=2)
    metric = PerceiveIRQuality(perceiver)
    with torch.no_grad():
        scores = perceiver.score(torch.cat([first, second]))
    batch_value = metric(first)  # forward: this batch's value, and it accumulates
    torch.testing.assert_close(batch_value, scores[:4].mean())
    metric.update(second)
    torch.testing.assert_close(metric.compute(), scores.mean())
    assert int(metric.total) == 7
    metric.reset()
    assert int(metric.total) == 0 and float(metric.probs_sum.abs().sum()) == 0.0
    metric.update(second)
    torch.testing.assert_close(metric.compute(), scores[4:].mean())
    kept = PerceiveIRQuality(perceiver, reduction="none")
    kept.update(first)
    kept.reset()
    assert kept.probs_list == []
    with pytest.warns(UserWarning, match="called before the ``update``"):
        assert kept.compute().shape == (0,)


def test_data_range_scales_the_images(perceiver):
    images = _images(4)
    expected = perceive_ir_quality(images, perceiver, reduction="none")
    _assert_same(perceive_ir_quality(images * 255, perceiver, data_range=255, reduction="none"), expected)
    metric = PerceiveIRQuality(perceiver, data_range=255.0, reduction="none")
    metric.update(images * 255)
    _assert_same(metric.compute(), expected)


def test_the_metric_moves_with_its_perceiver(perceiver, device):
    images = _images(4)
    expected = perceive_ir_quality(images, perceiver, output="probs", reduction="none")
    metric = PerceiveIRQuality(perceiver, output="probs", reduction="none").to(device)
    metric.update(images.to(device))
    result = metric.compute()
    assert all(v.device.type == device.type for v in result.values())
    tol = 1e-6 if device.type == "cpu" else 2e-3  # CUDA convolutions may use TF32
    for tier in TIERS:
        torch.testing.assert_close(result[tier].cpu(), expected[tier], atol=tol, rtol=0)
    if device.type != "cpu":  # images left behind are named, with the fix
        with pytest.raises(ValueError, match=r"metric\.to\("):
            metric.update(images)


def test_the_perceiver_stays_in_eval_mode(tiny_clip_config):
    perceiver = _perceiver(tiny_clip_config).train()
    assert perceiver.training
    metric = PerceiveIRQuality(perceiver)
    assert not metric.perceiver.training
    metric.train()
    assert metric.training and not any(m.training for m in metric.perceiver.modules())
    metric.train(False)
    metric.train(True)
    assert not metric.perceiver.training
    holder = torch.nn.ModuleDict({"quality": metric}).train()  # a parent's train() reaches it too
    assert holder.training and not metric.perceiver.training


def test_scores_carry_no_gradient(perceiver):
    images = _images(2).requires_grad_()
    metric = PerceiveIRQuality(perceiver)
    assert not metric(images).requires_grad
    assert perceiver.prompts.ctx.requires_grad  # the perceiver itself is not frozen by the metric


def test_sources_load_as_the_command_line_loads_them(perceiver, tmp_path):
    folder = perceiver.save_pretrained(tmp_path / "perceiver")
    images = _images(3)
    expected = perceive_ir_quality(images, perceiver, output="probs", reduction="none")
    for source in (folder, str(folder)):
        metric = PerceiveIRQuality(source, output="probs", reduction="none")
        metric.update(images)
        _assert_same(metric.compute(), expected)
    _assert_same(perceive_ir_quality(images, str(folder), output="probs", reduction="none"), expected)


def test_the_authors_prompt_file_gives_the_authors_probabilities(official_ref: Path):
    prompts = official_ref / "perceiver" / "quality_prompts_100000.pth"
    inputs, expected = reference_tensors(official_ref, "perceiver")
    metric = PerceiveIRQuality(prompts, output="probs", reduction="none", **clip_args(official_ref))
    for index in (0, 1):
        metric.update(inputs[f"image_{index}"])
    result = metric.compute()
    reference = torch.cat([expected["probabilities_0"], expected["probabilities_1"]])
    got = torch.stack([result[t] for t in TIERS], dim=1)
    assert got.shape == reference.shape and (got - reference).abs().max() <= 1e-4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output": "mos"}, "`output` must be one of"),
        ({"reduction": "max"}, "`reduction` must be one of"),
        ({"data_range": 0}, "`data_range`"),
        ({"data_range": -1.0}, "`data_range`"),
        ({"data_range": "255"}, "`data_range`"),
    ],
)
def test_bad_options_are_named(perceiver, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PerceiveIRQuality(perceiver, **kwargs)
    with pytest.raises(ValueError, match=message):
        perceive_ir_quality(_images(1), perceiver, **kwargs)


@pytest.mark.parametrize(
    ("images", "error", "message"),
    [
        ([[0.5]], TypeError, "torch.Tensor"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), TypeError, "data_range=255"),
        (torch.rand(3, 8, 8), ValueError, "shape"),
        (torch.rand(1, 1, 8, 8), ValueError, "3 channels"),
        (torch.rand(0, 3, 8, 8), ValueError, "empty batch"),
        (torch.full((1, 3, 8, 8), float("nan")), ValueError, "NaN"),
        (torch.rand(1, 3, 8, 8) * 255, ValueError, r"pass data_range=255"),
        (torch.rand(1, 3, 8, 8) - 0.5, ValueError, r"\[0, data_range\] = \[0, 1\].*clamp"),
    ],
)
def test_bad_images_are_named(perceiver, images, error, message):
    metric = PerceiveIRQuality(perceiver)
    with pytest.raises(error, match=message):
        metric.update(images)
    with pytest.raises(error, match=message):
        perceive_ir_quality(images, perceiver)
    assert int(metric.total) == 0  # nothing half-added


def test_bad_sources_are_named(perceiver, tmp_path):
    with pytest.raises(TypeError, match="`source` must be a QualityPerceiver"):
        PerceiveIRQuality(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is one already"):
        PerceiveIRQuality(perceiver, revision="main")
    with pytest.raises(ValueError, match="give `clip_model` too"):
        load_perceiver(str(tmp_path), clip_pretrained="openai")
    (tmp_path / "prompts.pth").write_bytes(b"")
    with pytest.raises(ValueError, match="local file"):
        load_perceiver(tmp_path / "prompts.pth", revision="main")
    with pytest.raises(FileNotFoundError):
        PerceiveIRQuality(tmp_path / "no-such-perceiver")


def test_plot_is_bounded_by_the_score_range(perceiver):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    metric = PerceiveIRQuality(perceiver)
    values = [metric(_images(2, seed=s)) for s in range(3)]
    fig, ax = metric.plot(values)
    assert ax.get_ylim()[0] <= 0.0 and ax.get_ylim()[1] >= 1.0
    matplotlib.pyplot.close(fig)


def test_score_json_carries_pyiqas_metadata(perceiver, tmp_path, capsys):
    from perceive_ir.cli.main import main

    folder = perceiver.save_pretrained(tmp_path / "perceiver")
    save_png(_images(1)[0], tmp_path / "a.png")
    assert main(["score", str(tmp_path / "a.png"), "--perceiver", str(folder), "--json", "--device", "cpu"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["lower_better"] is False and entry["score_range"] == [0.0, 1.0]
    assert entry["lower_better"] == PerceiveIRQuality.lower_better
    assert tuple(entry["score_range"]) == PerceiveIRQuality.score_range


# ----------------------------------------------------------------------------------------------
# two processes (gloo, CPU): the synced result is the one process's over all the images


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_give_the_single_process_result(perceiver, tmp_path):
    folder = perceiver.save_pretrained(tmp_path / "perceiver")
    images = _images(sum(_quality_worker.SHARDS))
    # fork on Linux: the children inherit the imports (torchmetrics alone takes seconds); spawn elsewhere
    method = "fork" if sys.platform == "linux" else "spawn"
    mp.start_processes(_quality_worker.run, args=(2, _free_port(), str(folder), images, str(tmp_path)), nprocs=2,
                       join=True, start_method=method)
    for rank in range(2):
        results = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        for output, reduction in _quality_worker.MODES:
            expected = perceive_ir_quality(images, perceiver, output=output, reduction=reduction)
            _assert_same(results[f"{output}-{reduction}"], expected)
