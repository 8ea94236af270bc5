"""Hub access fails fast and says why: HF_HUB_OFFLINE named, an unreachable Hub found in one short try."""

from __future__ import annotations

import time

import pytest
from huggingface_hub import constants

from perceive_ir import QualityPerceiver, load_model
from perceive_ir._hub_access import hub_access, hub_unavailable_reason, reset_hub_probe
from perceive_ir.cli.main import main
from perceive_ir.hub import PretrainedNotFoundError
from perceive_ir.perceive.semantic import SemanticGuidance

MISSING_REPO = "perceive-ir-tests/not-a-cached-repo"


@pytest.fixture
def offline_variable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def unreachable_hub(monkeypatch, tmp_path):
    """No offline switch, and a Hub endpoint on a closed loopback port: the probe is refused at once."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    reset_hub_probe()
    yield
    reset_hub_probe()


def test_the_reason_names_the_offline_variable(offline_variable):
    assert hub_unavailable_reason() == "HF_HUB_OFFLINE=1 is set"


def test_an_unreachable_hub_is_found_in_one_short_try(unreachable_hub):
    reason = hub_unavailable_reason()
    assert reason is not None and "http://127.0.0.1:9 could not be reached" in reason and "offline?" in reason
    with hub_access():
        assert constants.HF_HUB_OFFLINE  # cache only inside the block
    assert not constants.HF_HUB_OFFLINE


@pytest.mark.parametrize("hub", ["offline_variable", "unreachable_hub"])
def test_load_model_of_a_hub_id_says_why_at_once(hub, request):
    request.getfixturevalue(hub)
    start = time.perf_counter()
    with pytest.raises(PretrainedNotFoundError) as info:
        load_model(MISSING_REPO)
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert MISSING_REPO in message and "is not in the local Hugging Face cache" in message
    assert ("HF_HUB_OFFLINE=1 is set" if hub == "offline_variable" else "could not be reached") in message


@pytest.mark.parametrize("hub", ["offline_variable", "unreachable_hub"])
def test_encoders_out_of_reach_say_how_to_pass_a_local_one(hub, request):
    request.getfixturevalue(hub)
    with pytest.raises(PretrainedNotFoundError, match=r"--semantic-encoder DIR.*semantic_encoder=DIR"):
        SemanticGuidance(semantic_encoder=MISSING_REPO, channels=[8])
    with pytest.raises(Exception, match=r"not in the local Hugging Face cache.*--clip-pretrained FILE"):
        QualityPerceiver(clip_model="ViT-B-32", clip_pretrained="openai")


def test_convert_official_without_local_encoders_is_one_line(official_ref, tmp_path, offline_variable, capsys):
    pth = official_ref / "restorer" / "perceiveIR_500000.pth"
    assert main(["convert-official", str(pth), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HF_HUB_OFFLINE=1 is set" in err and "--semantic-encoder DIR" in err
    assert "Dinov2Config" not in err
