"""spandrel hosts load the authors' restorer from one exported file and restore like perceive_ir.restore.

The two ways hosts load a model (chaiNNer: ``ModelLoader().load_from_file``; ComfyUI:
``ModelLoader().load_from_state_dict(safetensors.torch.load_file(...))``), with the tiny reference
restorer written by the authors' code, reproduce ``restore()`` and the authors' own outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from perceive_ir import restore
from perceive_ir.cli.main import main
from perceive_ir.integrations.spandrel_format import (
    CONFIG_KEY,
    SpandrelFormatError,
    SpandrelPerceiveIR,
    save_spandrel,
    spandrel_model_from_state_dict,
)
from perceive_ir.models.official import PerceiveIRNet, load_official
from perceive_ir.testing import tiny_dinov2_config

from .._official_files import reference_tensors
from ..conftest import OFFICIAL_REF

spandrel = pytest.importorskip("spandrel", reason="the 'backbones' extra (spandrel) is not installed")
from perceive_ir.integrations import spandrel as integration  # noqa: E402  (needs spandrel)

TOLERANCE = 1e-5  # float32 on the CPU, as the reference set's MANIFEST states
BF16_TOLERANCE = 0.02  # max |bfloat16 − float32| on [0, 1] outputs
HALF_TOLERANCE = 0.005  # max |float16 − float32|


@pytest.fixture
def main_registry():
    """``spandrel.MAIN_REGISTRY`` after ``install()``, put back as it was after the test."""
    registry = spandrel.MAIN_REGISTRY
    saved = (registry._architectures, registry._ordered, registry._by_id)
    integration.install()
    yield registry
    registry._architectures, registry._ordered, registry._by_id = saved


@pytest.fixture
def authors_files(official_ref: Path) -> tuple[Path, Path]:
    return official_ref / "restorer" / "perceiveIR_500000.pth", official_ref / "restorer" / "dinov2_tiny"


@pytest.fixture
def authors_net(authors_files) -> PerceiveIRNet:
    pth, dinov2 = authors_files
    return load_official(pth, semantic_encoder=str(dinov2))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference restorer exported once by the command line (read-only for the tests)."""
    if not (OFFICIAL_REF / "MANIFEST.md").is_file():
        pytest.skip(f"the authors' reference files are not at {OFFICIAL_REF}")
    out = tmp_path_factory.mktemp("export") / "perceive-ir.safetensors"
    restorer = OFFICIAL_REF / "restorer"
    assert main(["export", "--format", "spandrel", str(restorer / "perceiveIR_500000.pth"), str(out),
                 "--semantic-encoder", str(restorer / "dinov2_tiny")]) == 0
    return out


def test_both_host_paths_reproduce_restore_and_the_authors_outputs(main_registry, exported, authors_net,
                                                                    official_ref):
    inputs, expected = reference_tensors(official_ref, "restorer")
    from_file = spandrel.ModelLoader().load_from_file(exported)  # chaiNNer
    from_state = spandrel.ModelLoader().load_from_state_dict(load_file(str(exported)))  # ComfyUI
    for descriptor in (from_file, from_state):
        assert descriptor.architecture.id == integration.ARCH_ID == "PerceiveIR"
        assert descriptor.purpose == "Restoration" and descriptor.scale == 1
        assert descriptor.input_channels == descriptor.output_channels == 3
        assert descriptor.size_requirements.multiple_of == 8
        assert descriptor.tiling is spandrel.ModelTiling.INTERNAL
        for image, authors in ((inputs["image_0"], expected["restored_0"]),
                               (inputs["image_1"][1:], expected["restored_1"][1:])):
            got = descriptor(image)
            assert got.shape == image.shape
            assert (got - restore(authors_net, image).clamp(0, 1)).abs().max() <= TOLERANCE
            assert (got - authors.clamp(0, 1)).abs().max() <= TOLERANCE


def test_the_file_holds_dinov2_and_needs_nothing_else(exported, authors_net):
    state = load_file(str(exported))
    dinov2 = {k for k in state if k.startswith("restorer.semantic.encoder.")}
    assert dinov2 and len(dinov2) == len(authors_net.semantic.encoder.state_dict())
    assert state[CONFIG_KEY].dtype == torch.uint8
    config = bytes(state[CONFIG_KEY].tolist())
    assert b"dinov2_tiny" not in config and b"_name_or_path" not in config  # no local path travels in the file
    rebuilt = spandrel_model_from_state_dict(state)
    for key, value in authors_net.state_dict().items():
        assert torch.equal(rebuilt.restorer.state_dict()[key], value), key


def test_sides_off_the_multiple_see_the_hosts_padding(main_registry, exported, authors_net):
    # spandrel reflect-pads right/bottom to a multiple of 8 before the model sees the image, so the
    # guidance is the padded image's: restore() on that padded image, cropped back
    image = torch.rand(1, 3, 30, 45, generator=torch.Generator().manual_seed(3))
    descriptor = spandrel.ModelLoader().load_from_file(exported)
    padded = torch.nn.functional.pad(image, (0, 3, 0, 2), mode="reflect")
    want = restore(authors_net, padded)[..., :30, :45].clamp(0, 1)
    assert (descriptor(image) - want).abs().max() <= TOLERANCE


def test_large_images_are_tiled_inside_with_one_guidance(main_registry, exported, authors_net, monkeypatch):
    descriptor = spandrel.ModelLoader().load_from_file(exported)
    descriptor.model.tile, descriptor.model.overlap = 16, 8
    calls = []
    original = PerceiveIRNet.compute_guidance
    monkeypatch.setattr(PerceiveIRNet, "compute_guidance", lambda self, x: calls.append(x.shape) or original(self, x))
    image = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(4))
    got = descriptor(image)
    assert calls == [image.shape]  # the whole image's guidance, once, for all 12 tiles
    want = restore(authors_net, image, tile=16, overlap=8).clamp(0, 1)
    assert (got - want).abs().max() <= TOLERANCE


def test_a_converted_folder_exports_the_same_file(authors_files, exported, tmp_path):
    pth, dinov2 = authors_files
    folder = tmp_path / "converted"
    assert main(["convert-official", str(pth), str(folder), "--semantic-encoder", str(dinov2)]) == 0
    out = tmp_path / "from-folder.safetensors"
    assert main(["export", "--format", "spandrel", str(folder), str(out), "--check"]) == 0
    a, b = load_file(str(exported)), load_file(str(out))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.bfloat16, BF16_TOLERANCE), (torch.float16, HALF_TOLERANCE)])
def test_reduced_precision_matches_float32(main_registry, exported, dtype, tolerance):
    image = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(5))
    want = spandrel.ModelLoader().load_from_file(exported)(image)
    descriptor = spandrel.ModelLoader().load_from_file(exported).to(dtype)
    assert descriptor.supports_bfloat16 is integration.SUPPORTS_BFLOAT16 is True
    assert descriptor.supports_half is integration.SUPPORTS_HALF is True
    got = descriptor(image.to(dtype))
    assert got.dtype == dtype
    assert (got.float() - want).abs().max() <= tolerance


def test_install_is_idempotent_and_detected_before_restormer():
    extra = pytest.importorskip("spandrel_extra_arches")
    for first_ours in (True, False):
        registry = spandrel.ArchRegistry()
        if first_ours:
            assert [s.architecture.id for s in integration.install(registry=registry)] == ["PerceiveIR"]
            registry.add(*extra.EXTRA_REGISTRY)
        else:
            registry.add(*extra.EXTRA_REGISTRY)
            assert len(integration.install(registry=registry)) == 1
        assert integration.install(registry=registry) == []  # a second install adds nothing
        order = [s.architecture.id for s in registry.architectures("detection")]
        assert order.index("PerceiveIR") < order.index("Restormer")


def test_other_architectures_still_load_as_themselves(main_registry):
    extra = pytest.importorskip("spandrel_extra_arches")
    from spandrel.architectures.NAFNet import NAFNet
    from spandrel_extra_arches.architectures.Restormer import Restormer

    registry = main_registry.copy()
    registry.add(*extra.EXTRA_REGISTRY, ignore_duplicates=True)
    assert "PerceiveIR" in registry
    restormer = Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1])
    nafnet = NAFNet(width=8, middle_blk_num=1, enc_blk_nums=[1, 1], dec_blk_nums=[1, 1])
    for net, arch in ((restormer, "Restormer"), (nafnet, "NAFNet")):
        state = net.state_dict()
        assert not integration.PerceiveIRArch().detect(state)
        assert spandrel.ModelLoader(registry=registry).load_from_state_dict(state).architecture.id == arch


def test_the_authors_raw_pth_says_how_to_export_it(main_registry, authors_files):
    pth, _ = authors_files
    with pytest.raises(SpandrelFormatError, match="perceive-ir export --format spandrel"):
        spandrel.ModelLoader().load_from_file(pth)


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
                        semantic_encoder=tiny_dinov2_config())
    return SpandrelPerceiveIR(net).state_dict()


def _with_config(state: dict, text: bytes) -> dict:
    return {**state, CONFIG_KEY: torch.tensor(list(text), dtype=torch.uint8)}


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: {k: v for k, v in s.items() if k != "restorer.output.weight"}, r"missing \['restorer.output.weight'\]"),
    (lambda s: {**s, "restorer.extra": torch.zeros(1)}, r"unexpected \['restorer.extra'\]"),
    (lambda s: {**s, "restorer.embed.weight": torch.zeros(4, 3, 3, 3)}, r"mis-shaped \['restorer.embed.weight'\]"),
    (lambda s: {**s, "restorer.embed.bias": torch.full((8,), float("nan"))}, "NaN"),
    (lambda s: _with_config(s, b"\xff\xfe"), "UTF-8 JSON"),
    (lambda s: _with_config(s, b'{"format": "perceive-ir/spandrel", "version": 99}'), "version 99"),
    (lambda s: _with_config(s, b'{"format": "other"}'), "format 'perceive-ir/spandrel'"),
    (lambda s: {k: v for k, v in s.items() if k != CONFIG_KEY}, "not a Perceive-IR spandrel file"),
])
def test_damaged_files_give_clear_errors(change, message):
    state = _tiny_state()
    assert isinstance(spandrel_model_from_state_dict(state), SpandrelPerceiveIR)
    with pytest.raises(SpandrelFormatError, match=message):
        spandrel_model_from_state_dict(change(state))


def test_a_damaged_file_fails_in_the_host_with_the_same_error(main_registry, tmp_path):
    state = _tiny_state()
    state.pop("restorer.output.bias")
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(SpandrelFormatError, match="missing"):
        spandrel.ModelLoader().load_from_file(tmp_path / "bad.safetensors")


def test_export_refuses_what_it_cannot_write(authors_files, tmp_path, capsys):
    pth, dinov2 = authors_files
    assert main(["export", "--format", "spandrel", str(pth), str(tmp_path / "x.onnx"),
                 "--semantic-encoder", str(dinov2)]) == 2
    assert "OUT must be a .safetensors file with --format spandrel" in capsys.readouterr().err
    assert main(["export", "--format", "spandrel", "nafnet-small", str(tmp_path / "x.safetensors"),
                 "--semantic-encoder", "tiny"]) == 2
    assert "exports the Perceive-IR authors' restorer" in capsys.readouterr().err
    assert main(["export", str(pth), str(tmp_path / "x.safetensors")]) == 2  # the default format is still ONNX
    assert "OUT must be a .onnx file with --format onnx" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match=r"\.safetensors"):
        save_spandrel(load_official(pth, semantic_encoder=str(dinov2)), tmp_path / "x.pt")


def test_bad_images_and_settings_are_refused(main_registry, exported):
    descriptor = spandrel.ModelLoader().load_from_file(exported)
    with pytest.raises(ValueError, match="3 channels"):
        descriptor(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match="multiple of 8"):
        descriptor.model.tile = 100
    with pytest.raises(ValueError, match="overlap"):
        descriptor.model.overlap = descriptor.model.tile
