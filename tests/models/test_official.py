"""The authors' restorer and medium restorer: their outputs, strict loading, conversion, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from perceive_ir.apps.convert_official import convert_official, sha256_of
from perceive_ir.inference.restore import restore
from perceive_ir.models import load_model
from perceive_ir.models.official import (
    MediumRestorer,
    OfficialCheckpointError,
    PerceiveIRNet,
    detect_official_kind,
    load_official,
)
from perceive_ir.models.official.checkpoint import read_official

from .._official_files import clip_args, malicious_checkpoint, one_line_error, reference_tensors, truncated_copy

TOL = 1e-5
TINY = {"dim": 8, "blocks": (1, 1, 1, 1), "heads": (1, 1, 1, 1), "refinement_blocks": 1}


@pytest.fixture
def restorer_file(official_ref: Path) -> Path:
    return official_ref / "restorer" / "perceiveIR_500000.pth"


@pytest.fixture
def dinov2(official_ref: Path) -> str:
    return str(official_ref / "restorer" / "dinov2_tiny")


@pytest.fixture
def official_net(restorer_file: Path, dinov2: str) -> PerceiveIRNet:
    net = load_official(restorer_file, semantic_encoder=dinov2)
    assert isinstance(net, PerceiveIRNet)
    return net


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert (a - b).abs().max().item() <= TOL


@pytest.mark.parametrize("index", [0, 1])
def test_reproduces_the_authors_restorer(official_ref: Path, official_net: PerceiveIRNet, index: int):
    inputs, expected = reference_tensors(official_ref, "restorer")
    image = inputs[f"image_{index}"]
    with torch.no_grad():
        guidance = official_net.compute_guidance(image)
        for level in range(4):
            _close(guidance.semantic[level], expected[f"semantic_{index}_{level}"])
        _close(guidance.degradation, expected[f"degradation_{index}"])
        _close(official_net.cfe(torch.flip(image, dims=(-1,))), expected[f"positive_flip_{index}"])
        _close(official_net(image), expected[f"restored_{index}"])


def test_every_tensor_of_the_file_is_used(restorer_file: Path, official_net: PerceiveIRNet):
    model_state = torch.load(restorer_file, weights_only=True)["model"]
    ours = {k for k in official_net.state_dict() if not k.startswith("semantic.")}
    assert len(ours) == len(model_state) == 244
    assert official_net.get_config()["dim"] == 8 and official_net.semantic.dim == 32


def test_read_official_reports_kind_and_training_facts(restorer_file: Path, dinov2: str):
    read = read_official(restorer_file, semantic_encoder=dinov2)
    assert read.kind == "restorer"
    assert read.facts == {"iteration": 500000, "tasks": ["denoise", "dehaze", "derain"]}


def test_each_load_reads_the_file_once(
    official_ref: Path, restorer_file: Path, dinov2: str, monkeypatch: pytest.MonkeyPatch
):
    real_load, loaded = torch.load, []

    def counting_load(file, *args, **kwargs):
        if str(file).endswith(".pth"):
            loaded.append(Path(file).name)
        return real_load(file, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    load_model(restorer_file, semantic_encoder=dinov2)
    read_official(official_ref / "perceiver" / "quality_prompts_100000.pth", **clip_args(official_ref))
    assert loaded == ["perceiveIR_500000.pth", "quality_prompts_100000.pth"]


def test_converted_restorer_round_trips_and_loads_everywhere(
    official_ref: Path, restorer_file: Path, dinov2: str, tmp_path: Path
):
    inputs, expected = reference_tensors(official_ref, "restorer")
    converted = convert_official(restorer_file, tmp_path / "restorer", semantic_encoder=dinov2)
    assert converted.kind == "restorer"
    files = sorted(p.name for p in converted.folder.iterdir())
    assert files == ["README.md", "config.json", "model.safetensors"]  # no pickle anywhere
    card = (converted.folder / "README.md").read_text()
    assert sha256_of(restorer_file) in card and "license: apache-2.0" in card and "3-task: 32.63 / 0.917" in card
    for net in (PerceiveIRNet.from_pretrained(converted.folder), load_model(converted.folder).module):
        with torch.no_grad():
            _close(net(inputs["image_1"]), expected["restored_1"])


def test_load_model_takes_the_pth_and_refuses_prompts(official_ref: Path, restorer_file: Path, dinov2: str):
    loaded = load_model(restorer_file, semantic_encoder=dinov2)
    assert isinstance(loaded.module, PerceiveIRNet) and loaded.multiple == 8
    with pytest.raises(ValueError, match="prompt checkpoint"):
        load_model(official_ref / "perceiver" / "quality_prompts_100000.pth")


def test_tiled_restore_of_a_large_image_shares_guidance(official_net: PerceiveIRNet, monkeypatch: pytest.MonkeyPatch):
    image = torch.rand(3, 700, 1000)
    calls = {"guidance": 0}
    compute = official_net.compute_guidance

    def counted(x: torch.Tensor):
        calls["guidance"] += 1
        return compute(x)

    monkeypatch.setattr(official_net, "compute_guidance", counted)
    out = restore(official_net, image, tile=256, overlap=32)
    assert out.shape == image.shape and bool(torch.isfinite(out).all())
    assert calls["guidance"] == 1
    small = image[:, :64, :96]
    whole = restore(official_net, small)
    with torch.no_grad():
        _close(whole, official_net(small[None])[0])


def test_any_size_is_padded_and_cropped(official_net: PerceiveIRNet):
    with torch.no_grad():
        out = official_net(torch.rand(2, 3, 27, 45))
    assert out.shape == (2, 3, 27, 45)
    with pytest.raises(ValueError, match="image"):
        official_net(torch.rand(1, 3, 5, 40))


def _authors_medium_state(restorer_file: Path) -> dict[str, torch.Tensor]:
    """A medium restorer in the authors' key layout: their restorer's shared U-Net plus plain latent/decoders."""
    state = torch.load(restorer_file, weights_only=True)["model"]
    unet = re.compile(r"(embed|encoder\d|down\d|up\d|reduce\d|refinement|output)\.")
    shared = {k: v for k, v in state.items() if unet.match(k)}
    plain = {f"decoder{i}.0.{k.split('.', 2)[2]}": v.clone() for i in (1, 2, 3)
             for k, v in state.items() if k.startswith(f"encoder{i}.0.")}
    latent = {f"latent.0.{k}": v for k, v in MediumRestorer(**TINY).latent[0].state_dict().items()}
    return {**shared, **plain, **latent}


def test_medium_restorer_loads_strictly_and_converts(restorer_file: Path, tmp_path: Path):
    state = _authors_medium_state(restorer_file)
    file = tmp_path / "medium_020000.pth"
    torch.save({"model": state, "optimizer": {}, "iteration": 20000, "heldout_fold": 1, "world_size": 4}, file)
    assert detect_official_kind(torch.load(file, weights_only=True)) == "medium"
    net = load_official(file)
    assert isinstance(net, MediumRestorer) and net.heldout_fold == 1
    assert set(net.state_dict()) == set(state)
    converted = convert_official(file, tmp_path / "medium")
    assert "held-out fold (the scenes it may render): 1" in (converted.folder / "README.md").read_text()
    image = torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        torch.testing.assert_close(MediumRestorer.from_pretrained(converted.folder)(image), net(image))
        net.output.weight.zero_()
        net.output.bias.zero_()
        torch.testing.assert_close(net(image), image)  # the global residual


def test_medium_with_a_missing_tensor_names_it(restorer_file: Path, tmp_path: Path):
    state = _authors_medium_state(restorer_file)
    del state["decoder2.0.ffn.depthwise.bias"]
    torch.save({"model": state, "heldout_fold": 0}, tmp_path / "medium.pth")
    with pytest.raises(OfficialCheckpointError, match=r"missing \['decoder2.0.ffn.depthwise.bias'\]"):
        load_official(tmp_path / "medium.pth")



def test_bad_files_get_one_line_errors(official_ref: Path, restorer_file: Path, dinov2: str, tmp_path: Path):
    random_dict = tmp_path / "random.pth"
    torch.save({"conv.weight": torch.randn(4, 3, 3, 3)}, random_dict)
    with pytest.raises(OfficialCheckpointError) as err:
        load_official(random_dict)
    assert "plain state dict" in one_line_error(err, random_dict)

    truncated = truncated_copy(restorer_file, tmp_path / "truncated.pth")
    with pytest.raises(OfficialCheckpointError) as err:
        load_official(truncated, semantic_encoder=dinov2)
    assert "truncated" in one_line_error(err, truncated)

    prompts = official_ref / "perceiver" / "quality_prompts_100000.pth"
    with pytest.raises(OfficialCheckpointError) as err:
        load_official(prompts, kind="restorer")
    assert "stage-1 prompt checkpoint" in one_line_error(err, prompts)
    with pytest.raises(OfficialCheckpointError) as err:
        load_official(restorer_file, kind="medium", semantic_encoder=dinov2)
    assert "stage-2 restorer" in one_line_error(err, restorer_file)


def test_nan_weights_and_conflicting_config_are_refused(restorer_file: Path, dinov2: str, tmp_path: Path):
    checkpoint = torch.load(restorer_file, weights_only=True)
    checkpoint["model"]["output.bias"][0] = float("inf")
    torch.save(checkpoint, tmp_path / "inf.pth")
    with pytest.raises(OfficialCheckpointError, match="holds NaN or Inf weights in output.bias"):
        load_official(tmp_path / "inf.pth", semantic_encoder=dinov2)

    checkpoint = torch.load(restorer_file, weights_only=True)
    checkpoint["config"]["model"]["dim"] = 48
    torch.save(checkpoint, tmp_path / "config.pth")
    with pytest.raises(OfficialCheckpointError, match="`config.model.dim` is 48 but the weights have 8"):
        load_official(tmp_path / "config.pth", semantic_encoder=dinov2)


def test_semantic_encoder_of_the_wrong_width_is_refused(restorer_file: Path):
    from perceive_ir.testing import tiny_dinov2_config

    config = tiny_dinov2_config()
    config.hidden_size, config.intermediate_size = 48, 96
    with pytest.raises(OfficialCheckpointError, match="width 32 .* gives width 48"):
        load_official(restorer_file, semantic_encoder=config)


def test_pickle_with_code_is_refused_and_never_run(tmp_path: Path):
    marker = tmp_path / "code-ran"
    file = malicious_checkpoint(tmp_path / "evil.pth", marker)
    with pytest.raises(OfficialCheckpointError) as err:
        load_official(file)
    assert "nothing in it was run" in one_line_error(err, file) and not marker.exists()
    torch.load(file, weights_only=False)  # the payload is real: a full unpickle runs it
    assert marker.exists()


def test_a_medium_restorer_is_a_hard_negative_proxy(tiny_clip_config: dict):
    from perceive_ir import Proxy, QualityAwareLoss, QualityPerceiver
    from perceive_ir.perceive.losses import FixedDifficulty

    medium = MediumRestorer(**TINY, heldout_fold=0).eval()
    perceiver = QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=4)
    proxy = Proxy(medium, tasks=["denoise"], name="medium-holdout-0")
    loss_fn = QualityAwareLoss(perceiver, feature_space="clip", difficulty=FixedDifficulty(1.25), proxies=[proxy])
    bare = QualityAwareLoss(perceiver, feature_space="clip")
    degraded, clean = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    restored = degraded.clone().requires_grad_()
    out = loss_fn(restored, clean, degraded, tasks=["denoise", "derain"])
    assert out.medium_weights is not None
    assert out.medium_weights[:, 0].tolist() == [1.25, 0.0]  # the mask m_k: valid for denoising only
    assert out.terms["dpl"] < bare(restored, clean, degraded).terms["dpl"]  # one more negative
    out.loss.backward()
    assert restored.grad is not None


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_other_float_dtypes_are_computed_in_the_networks_and_returned_in_theirs(
    official_net: PerceiveIRNet, dtype: torch.dtype
):
    image = torch.rand(1, 3, 24, 40)
    medium = MediumRestorer(**TINY).eval()
    with torch.no_grad():
        for net in (official_net, medium):
            out = net(image.to(dtype))
            assert out.dtype == dtype
            torch.testing.assert_close(out.float(), net(image), atol=0.05 if dtype == torch.bfloat16 else 1e-5,
                                       rtol=0)
