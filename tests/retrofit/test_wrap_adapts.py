"""The wrapper adapts to awkward networks: in-place inputs, batch-1 only, fixed size, extra input channels."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from perceive_ir.retrofit import AdaptedInput, NoiseLevelMap, WrappedBackbone, probe_backbone, wrap_backbone

OPTIONS = {"semantic_encoder": None, "cond_dim": 8, "hidden_dim": 16, "probe_size": 16}


class MutatesInput(nn.Module):
    """Scales its input in place before the body, as RCAN's mean shift does."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1))
        self.tail = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(2.0).sub_(1.0)
        return self.tail(self.body(x))


def _train_step(model: WrappedBackbone, x: torch.Tensor) -> None:
    with torch.no_grad():
        for p in model.adapter.parameters():
            p.add_(0.01)
    model(x).square().mean().backward()


def test_a_backbone_that_writes_into_its_input_gets_a_copy():
    net = MutatesInput()
    model = wrap_backbone(net, **OPTIONS)
    assert model.mutates_input
    x = torch.rand(2, 3, 16, 16)
    kept = x.clone()
    _train_step(model, x)  # the CFE keeps x for backward: without the copy this raises
    assert torch.equal(x, kept)  # the caller's tensor is untouched too
    assert all(p.grad is not None for p in model.adapter.parameters() if p.requires_grad)
    fresh = wrap_backbone(MutatesInput(), **OPTIONS)
    with torch.no_grad():
        assert torch.equal(fresh(x), fresh.backbone(x.clone()))  # identity at init, input copied or not
    # the copy is made only when needed
    plain = wrap_backbone(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1)), **OPTIONS)
    assert not plain.mutates_input


def test_without_the_copy_the_same_backbone_fails_backward():
    """The failure the copy prevents (guards the test above against passing vacuously)."""
    model = wrap_backbone(MutatesInput(), **OPTIONS)
    model.mutates_input = False
    with pytest.warns(RuntimeWarning, match="wrote into its input in place"):
        out = model(torch.rand(2, 3, 16, 16))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.square().mean().backward()
    assert model.mutates_input  # noticed: the next call copies


class BatchOfOne(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != 1:
            raise RuntimeError("this network takes one image at a time")
        return self.b(self.a(x))


def test_the_dry_run_falls_back_to_batch_one():
    result = probe_backbone(BatchOfOne(), 16)
    assert result.batch == 1 and result.records["a"].hookable
    model = wrap_backbone(BatchOfOne(), **OPTIONS)
    assert model.hooked_layers == ("a",)


class FixedSize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.c = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (24, 24):
            raise RuntimeError(f"this network takes 24x24 faces, got {tuple(x.shape[-2:])}")
        return self.c(self.b(self.a(x)))


def test_a_fixed_input_size_is_declared_not_guessed():
    with pytest.raises(RuntimeError, match=r"dry run .* failed .*`input_size=` for a network that takes one fixed"):
        wrap_backbone(FixedSize(), **OPTIONS)
    model = wrap_backbone(FixedSize(), **{**OPTIONS, "probe_size": None}, input_size=24)
    assert model.hooked_layers == ("a", "b") and model.probe_size == 24
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert torch.equal(model(x), model.backbone(x))
    with pytest.raises(ValueError, match="`probe_size` \\(16\\) must equal `input_size` \\(24\\)"):
        wrap_backbone(FixedSize(), **OPTIONS, input_size=24)


class NoiseMapNet(nn.Module):
    """Takes RGB + a noise-level channel, like DRUNet."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(4, 8, 3, padding=1)
        self.body = nn.Conv2d(8, 8, 3, padding=1)
        self.tail = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(self.head(x)))


def test_an_input_adapter_feeds_the_extra_channel_and_survives_a_round_trip(tmp_path):
    with pytest.raises(RuntimeError, match=r"input_adapter=.*NoiseLevelMap"):
        wrap_backbone(NoiseMapNet(), **OPTIONS)
    net = NoiseMapNet()
    model = wrap_backbone(net, **OPTIONS, input_adapter=NoiseLevelMap(25 / 255), multiple=4)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(x), AdaptedInput(net, NoiseLevelMap(25 / 255))(x))
        assert model(torch.rand(1, 3, 13, 15)).shape == (1, 3, 13, 15)  # padded, then the channel appended
    assert model.get_config()["input_adapter"] == {"class": "NoiseLevelMap", "level": 25 / 255, "channels": 1}
    model.save_pretrained(tmp_path / "a")
    again = WrappedBackbone.from_pretrained(tmp_path / "a", backbone=net)
    assert isinstance(again.input_adapter, NoiseLevelMap) and again.input_adapter.level == 25 / 255
    with torch.no_grad():
        assert torch.equal(again(x), model(x))


def test_a_custom_input_adapter_must_be_passed_again(tmp_path):
    def add_zeros(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)

    net = NoiseMapNet()
    model = wrap_backbone(net, **OPTIONS, input_adapter=add_zeros)
    model.save_pretrained(tmp_path / "a")
    with pytest.raises(TypeError, match="input adapter function, which is not rebuilt from files: pass it again"):
        WrappedBackbone.from_pretrained(tmp_path / "a", backbone=net)
    again = WrappedBackbone.from_pretrained(tmp_path / "a", backbone=net, input_adapter=add_zeros)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(again(x), model(x))


def test_noise_level_map_and_adapted_input_refuse_bad_arguments():
    with pytest.raises(ValueError, match="`level` must be a noise standard deviation in \\[0, 1\\]"):
        NoiseLevelMap(15)
    with pytest.raises(ValueError, match="`channels`"):
        NoiseLevelMap(0.1, channels=0)
    with pytest.raises(TypeError, match="`network`"):
        AdaptedInput(lambda x: x, NoiseLevelMap())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`adapter`"):
        AdaptedInput(nn.Identity(), 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`input_adapter`"):
        probe_backbone(NoiseMapNet(), 16, input_adapter=3)  # type: ignore[arg-type]


class TokensOnly(nn.Module):
    """Every block works on (B, L, C) tokens: nothing a forward hook can modulate as a map."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.mix(x.flatten(2).transpose(1, 2))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


def test_an_unhookable_network_is_told_why_and_what_to_pass():
    with pytest.raises(ValueError, match=r"no submodule returns a \(B, C, H, W\) map .* Pass `layers=`"):
        wrap_backbone(TokensOnly(), **OPTIONS)
