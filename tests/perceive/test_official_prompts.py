"""The authors' stage-1 prompt checkpoint in QualityPerceiver: their outputs, round trips, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from perceive_ir import QualityAwareLoss, QualityPerceiver
from perceive_ir.perceive.official_prompts import OfficialCheckpointError, load_official_prompts

from .._official_files import clip_args, malicious_checkpoint, one_line_error, reference_tensors, truncated_copy

TOL = 1e-5  # the reference set's tolerance (float32, CPU)


@pytest.fixture
def prompts_file(official_ref: Path) -> Path:
    return official_ref / "perceiver" / "quality_prompts_100000.pth"


@pytest.fixture
def official_perceiver(official_ref: Path, prompts_file: Path) -> QualityPerceiver:
    return QualityPerceiver.from_official(prompts_file, **clip_args(official_ref))


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert (a - b).abs().max().item() <= TOL


def test_reproduces_the_authors_prompts_and_text_features(official_ref: Path, official_perceiver: QualityPerceiver):
    _, expected = reference_tensors(official_ref, "perceiver")
    with torch.no_grad():
        _close(official_perceiver.text_features(), expected["text_features"])
        _close(official_perceiver.clip.logit_scale.exp(), expected["logit_scale"])
    prompts = official_perceiver.prompts
    embeddings = torch.cat([prompts.token_prefix, prompts.ctx, prompts.token_suffix], dim=1)
    _close(embeddings.detach(), expected["prompt_embeddings"])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_reproduces_the_authors_tier_probabilities_and_quality_loss(
    official_ref: Path, official_perceiver: QualityPerceiver, index: int
):
    inputs, expected = reference_tensors(official_ref, "perceiver")
    image = inputs[f"image_{index}"]
    with torch.no_grad():
        features = official_perceiver.encode_images(image)
        _close(features, expected[f"image_features_{index}"])
        _close(official_perceiver(image), expected[f"logits_{index}"])
        _close(official_perceiver.probabilities(image), expected[f"probabilities_{index}"])
        cosine = official_perceiver.logits_from_features(features, logit_scale=False)
        _close(cosine.softmax(dim=-1), expected[f"loss_probabilities_{index}"])
        _close(official_perceiver.quality_loss(image, logit_scale=False), expected[f"quality_loss_{index}"])


def test_quality_aware_loss_offers_the_authors_unscaled_form(official_ref: Path, official_perceiver: QualityPerceiver):
    inputs, expected = reference_tensors(official_ref, "perceiver")
    image = inputs["image_0"]
    only_clip = {"rec": 0.0, "cl": 0.0, "clip": 1.0, "dpl": 0.0}
    authors = QualityAwareLoss(official_perceiver, weights=only_clip, feature_space="clip", clip_logit_scale=False)
    ours = QualityAwareLoss(official_perceiver, weights=only_clip, feature_space="clip")
    with torch.no_grad():
        _close(authors(image, image, image).terms["clip"], expected["quality_loss_0"])
        scaled = ours(image, image, image).terms["clip"]
    assert (scaled - expected["quality_loss_0"]).abs() > 1e-3  # the scaled softmax is a different, sharper loss


def test_converted_perceiver_round_trips_without_clip_weights(
    official_ref: Path, official_perceiver: QualityPerceiver, tmp_path: Path
):
    inputs, expected = reference_tensors(official_ref, "perceiver")
    official_perceiver.save_pretrained(tmp_path)
    saved = load_file(str(tmp_path / "model.safetensors"))
    assert sorted(saved) == ["prompts.ctx", "prompts.token_prefix", "prompts.token_suffix", "prompts.tokens"]
    reloaded = QualityPerceiver.from_pretrained(tmp_path)
    with torch.no_grad():
        _close(reloaded.probabilities(inputs["image_1"]), expected["probabilities_1"])


def test_loader_reads_the_format_facts(prompts_file: Path):
    prompts = load_official_prompts(prompts_file)
    assert (prompts.n_ctx, prompts.width, prompts.context_length) == (16, 64, 77)
    assert prompts.quality_names == ("terrible", "mediocre", "excellent")
    assert prompts.iteration == 100000 and prompts.task_balanced is True


def test_prompts_of_another_clip_width_are_refused(prompts_file: Path, tiny_clip_config: dict):
    with pytest.raises(OfficialCheckpointError, match="token width 64"):
        QualityPerceiver.from_official(prompts_file, clip_model=tiny_clip_config, clip_pretrained=None)



def test_restorer_checkpoint_is_refused_by_the_prompt_loader(official_ref: Path):
    restorer = official_ref / "restorer" / "perceiveIR_500000.pth"
    with pytest.raises(OfficialCheckpointError) as err:
        QualityPerceiver.from_official(restorer, **clip_args(official_ref))
    assert "looks like a restorer checkpoint" in one_line_error(err, restorer)


def test_random_state_dict_truncated_file_and_nan_prompts_are_refused(prompts_file: Path, tmp_path: Path):
    random_dict = tmp_path / "random.pth"
    torch.save({"conv.weight": torch.randn(4, 3, 3, 3)}, random_dict)
    with pytest.raises(OfficialCheckpointError) as err:
        load_official_prompts(random_dict)
    assert "plain state dict" in one_line_error(err, random_dict)

    truncated = truncated_copy(prompts_file, tmp_path / "truncated.pth")
    with pytest.raises(OfficialCheckpointError) as err:
        load_official_prompts(truncated)
    assert "truncated" in one_line_error(err, truncated)

    checkpoint = torch.load(prompts_file, weights_only=True)
    checkpoint["prompt_learner"]["context"][0, 0, 0] = float("nan")
    torch.save(checkpoint, tmp_path / "nan.pth")
    with pytest.raises(OfficialCheckpointError, match="NaN"):
        load_official_prompts(tmp_path / "nan.pth")


def test_pickle_with_code_is_refused_and_never_run(tmp_path: Path):
    marker = tmp_path / "code-ran"
    file = malicious_checkpoint(tmp_path / "evil.pth", marker)
    with pytest.raises(OfficialCheckpointError) as err:
        load_official_prompts(file)
    assert "nothing in it was run" in one_line_error(err, file)
    assert not marker.exists()


def test_missing_file_names_it(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="quality_prompts"):
        load_official_prompts(tmp_path / "quality_prompts_100000.pth")
