"""ONNX export: onnxruntime on the CPU matches PyTorch on two image sizes, bare and wrapped (guidance inside)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from perceive_ir.cli.main import main
from perceive_ir.inference.export import ONNX_OPSET, export_onnx
from perceive_ir.models.checkpoint import save_restoration_model
from perceive_ir.models.presets import nafnet_backbone, perceive_ir_nafnet

ort = pytest.importorskip("onnxruntime", reason="the 'export' extra (onnx, onnxruntime) is not installed")

SIZES = [(1, 3, 48, 64), (2, 3, 37, 83)]  # a multiple of the padding and an odd size, two batch sizes


def _run(path, image: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["degraded"]
    return session.run(None, {"degraded": image.numpy()})[0]


def _check(model: torch.nn.Module, path) -> None:
    gen = torch.Generator().manual_seed(1)
    for shape in SIZES:
        image = torch.rand(*shape, generator=gen)
        with torch.no_grad():
            want = model(image).numpy()
        got = _run(path, image)
        assert got.shape == want.shape == shape
        assert np.abs(got - want).max() < 1e-4, shape


def test_bare_network_round_trip(tmp_path):
    torch.manual_seed(0)
    net = nafnet_backbone("small").eval()
    path = export_onnx(net, tmp_path / "bare.onnx")
    assert path == tmp_path / "bare.onnx" and [p.name for p in tmp_path.iterdir()] == ["bare.onnx"]
    _check(net, path)


def test_wrapped_network_computes_its_guidance_inside(tmp_path, tiny_dinov2):
    torch.manual_seed(0)
    model = perceive_ir_nafnet("small", semantic_encoder=tiny_dinov2, image_size=28, probe_size=32).eval()
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():  # trained-looking adapter: the FiLM heads start at zero (identity)
        for p in model.adapter.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    image = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        assert (model(image) - model.backbone(image)).abs().max() > 1e-2  # the guidance changes the output
    path = export_onnx(model, tmp_path / "wrapped.onnx")
    _check(model, path)
    # two images of one batch get their own guidance, as in PyTorch
    pair = torch.stack([torch.rand(3, 48, 64, generator=gen), torch.full((3, 48, 64), 0.5)])
    got = _run(path, pair)
    assert np.abs(got[0] - _run(path, pair[:1])[0]).max() < 1e-4


def test_cli_export_of_a_saved_folder_with_check(tmp_path, tiny_dinov2, capsys):
    model = perceive_ir_nafnet("small", semantic_encoder=tiny_dinov2, image_size=28, probe_size=32,
                               backbone_kwargs={"width": 8}, hidden_dim=16, cond_dim=16)
    folder = save_restoration_model(model, tmp_path / "model")
    out = tmp_path / "sub" / "model.onnx"
    assert main(["export", str(folder), str(out), "--check"]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and "onnxruntime vs PyTorch" in text
    difference = float(text.rsplit("max |difference| ", 1)[1].split()[0])
    assert difference < 1e-4


def test_refusals(tmp_path):
    net = nafnet_backbone("small")
    with pytest.raises(ValueError, match="opset"):
        export_onnx(net, tmp_path / "a.onnx", opset=ONNX_OPSET - 1)
    with pytest.raises(TypeError, match="`model`"):
        export_onnx(json, tmp_path / "a.onnx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="multiple"):
        export_onnx(net, tmp_path / "a.onnx", multiple=0)


def test_cli_export_of_a_converted_official_restorer(official_ref, tmp_path, capsys):
    """The authors' restorer, converted, exports and runs in onnxruntime like in PyTorch (its guidance inside)."""
    pytest.importorskip("onnxruntime")
    converted = tmp_path / "restorer"
    assert main(["convert-official", str(official_ref / "restorer" / "perceiveIR_500000.pth"), str(converted),
                 "--semantic-encoder", str(official_ref / "restorer" / "dinov2_tiny")]) == 0
    out = tmp_path / "official.onnx"
    assert main(["export", str(converted), str(out), "--check"]) == 0
    text = capsys.readouterr().out
    assert float(text.rsplit("max |difference| ", 1)[1].split()[0]) < 1e-4
