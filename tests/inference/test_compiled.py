"""The fast inference path: compiled once per size bucket, channels-last, bfloat16, and its options."""

from __future__ import annotations

from argparse import Namespace

import pytest
import torch
from torch import nn
from torch._dynamo.testing import CompileCounter

from perceive_ir import restore, wrap_backbone
from perceive_ir.cli._fast_args import fast_options
from perceive_ir.errors import InvalidTypeError, InvalidValueError
from perceive_ir.inference import compiled
from perceive_ir.inference.compiled import FastOptions, clear_compiled, compile_reports, fast_path
from perceive_ir.models.official import PerceiveIRNet
from perceive_ir.testing import tiny_dinov2_config

#: Max |bf16 autocast - float32| on the tiny authors' network below (measured 5e-3; docs/inference.md).
BF16_BOUND = 2e-2


def tiny_official() -> PerceiveIRNet:
    torch.manual_seed(0)
    return PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
                         semantic_encoder=tiny_dinov2_config()).eval()


@pytest.fixture(autouse=True)
def _fresh_caches():
    torch._dynamo.reset()
    clear_compiled()
    yield
    torch._dynamo.reset()
    clear_compiled()


def tiny_wrapped() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
    return wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16).eval()


def test_compiles_once_per_size_bucket(monkeypatch, caplog):
    counter = CompileCounter()  # counts the graphs Dynamo hands the backend
    monkeypatch.setattr(compiled, "COMPILE_BACKEND", counter)
    net = tiny_wrapped()
    image = torch.rand(3, 40, 56)
    with caplog.at_level("INFO", logger="perceive_ir.inference"):
        first = restore(net, image, tile=16, overlap=8, compile=True)  # guidance at 40×56, 12 tiles at 16×16
        compiled_once = counter.frame_count
        assert compiled_once > 0
        restore(net, image, tile=16, overlap=8, compile=True)
        assert counter.frame_count == compiled_once  # nothing compiles again: not per tile, not per call
        restore(net, torch.rand(3, 48, 48), tile=16, overlap=8, compile=True)  # new guidance size, same tiles
        assert counter.frame_count > compiled_once
    buckets = [(r.method, r.shape[-2:]) for r in compile_reports(net)]
    assert buckets == [("compute_guidance", (40, 56)), ("forward_with_guidance", (16, 16)),
                       ("compute_guidance", (48, 48))]
    reports = [m for m in caplog.messages if "first call" in m]
    assert len(reports) == 3, reports  # each compile's time is reported
    torch.testing.assert_close(first, restore(net, image, tile=16, overlap=8), rtol=0, atol=1e-6)


def test_a_plain_network_compiles_per_shape_and_dtype(monkeypatch):
    counter = CompileCounter()
    monkeypatch.setattr(compiled, "COMPILE_BACKEND", counter)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.GELU(), nn.Conv2d(4, 3, 3, padding=1)).eval()
    fast, fast_bf16 = fast_path(net), fast_path(net, dtype="bf16")
    with torch.inference_mode():
        for x in (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 12)):
            assert fast(x).dtype == torch.float32
        fast_bf16(torch.rand(1, 3, 8, 8))
    assert counter.frame_count == 3
    assert [(r.shape, r.dtype) for r in compile_reports(net)] == [
        ((1, 3, 8, 8), "fp32"), ((1, 3, 8, 12), "fp32"), ((1, 3, 8, 8), "bf16")]


def test_bf16_and_channels_last_against_float32():
    net = tiny_official()
    image = torch.rand(3, 40, 56)
    reference = restore(net, image)
    bf16 = restore(net, image, dtype="bf16")
    assert bf16.dtype == torch.float32
    assert 0 < float((bf16 - reference).abs().max()) <= BF16_BOUND  # it did compute in bfloat16
    channels_last = restore(net, image, channels_last=True)
    torch.testing.assert_close(channels_last, reference, rtol=0, atol=1e-6)
    assert net.embed.weight.is_contiguous(memory_format=torch.channels_last)  # converted in place


@pytest.mark.slow  # inductor compiles C++ kernels: minutes on two cores
def test_inductor_compiled_restore_matches_eager():
    net = tiny_official()
    image = torch.rand(3, 32, 32)
    torch.testing.assert_close(restore(net, image, compile=True), restore(net, image), rtol=0, atol=1e-5)


def test_bad_options_are_named():
    net = nn.Conv2d(3, 3, 3, padding=1)
    image = torch.rand(3, 8, 8)
    with pytest.raises(InvalidValueError, match="`dtype` must be one of"):
        restore(net, image, dtype="fp16")
    with pytest.raises(InvalidTypeError, match="`compile` must be a bool"):
        restore(net, image, compile="yes")
    with pytest.raises(InvalidTypeError, match="`channels_last` must be a bool"):
        FastOptions(channels_last=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="exclude each other"):  # float16 and bfloat16 autocast
        fast_options(Namespace(compile=False, channels_last=False, dtype="bf16", half=True))
