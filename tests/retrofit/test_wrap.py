"""wrap_backbone on real architectures from spandrel, built small with random weights."""

from __future__ import annotations

import copy
import json
import threading

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from perceive_ir.perceive.cfe import CompactFeatureExtractor
from perceive_ir.retrofit.layer_probe import probe_backbone
from perceive_ir.retrofit.wrap import Guidance, WrappedBackbone, wrap_backbone


# -- tiny real architectures ------------------------------------------------------------------
def make_nafnet() -> nn.Module:
    from spandrel.architectures.NAFNet import NAFNet

    return NAFNet(width=8, enc_blk_nums=[1, 1, 1, 1], middle_blk_num=1, dec_blk_nums=[1, 1, 1, 1]).eval()


def make_restormer() -> nn.Module:
    from spandrel_extra_arches.architectures.Restormer import Restormer

    return Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1]).eval()


def make_swinir() -> nn.Module:
    from spandrel.architectures.SwinIR import SwinIR

    return SwinIR(
        img_size=16, in_chans=3, embed_dim=8, depths=[1, 1], num_heads=[2, 2], window_size=4, mlp_ratio=2.0,
        upscale=1, img_range=1.0, upsampler="", resi_connection="1conv",
    ).eval()


class TinyCondition(nn.Module):
    """A user's own condition source (not HubMixin): mean colour → cond_dim features."""

    def __init__(self, cond_dim: int = 5) -> None:
        super().__init__()
        self.cond_dim = cond_dim
        self.proj = nn.Linear(3, cond_dim)

    def forward(self, degraded: torch.Tensor) -> torch.Tensor:
        return self.proj(degraded.mean(dim=(-2, -1)))


def _adapter_step(model: WrappedBackbone, x: torch.Tensor, lr: float = 1e-2) -> None:
    """One Adam step on the adapter only, so every FiLM head leaves zero."""
    opt = torch.optim.Adam(model.adapter.parameters(), lr=lr)
    out = model(x)
    (out - x).abs().mean().backward()
    opt.step()
    opt.zero_grad()


@pytest.fixture(scope="module")
def nafnet() -> nn.Module:
    torch.manual_seed(1)
    return make_nafnet()


@pytest.fixture(scope="module")
def restormer() -> nn.Module:
    torch.manual_seed(2)
    return make_restormer()


# -- automatic layer choice ---------------------------------------------------------------------
def test_auto_layers_nafnet(nafnet) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, probe_size=16)
    assert model.hooked_layers == ("middle_blks", "decoders.0", "decoders.1", "decoders.2")
    assert model.level_channels == (128, 64, 32, 16)


def test_auto_layers_restormer(restormer) -> None:
    # the automatic rule alone; wrap_backbone first takes a known architecture's layers (retrofit/guided_layers.py)
    from perceive_ir.retrofit.layer_probe import probe_backbone, select_guidance_layers

    automatic = select_guidance_layers(probe_backbone(restormer, 16))
    assert automatic == ("latent", "decoder_level3", "decoder_level2", "refinement")
    model = wrap_backbone(restormer, semantic_encoder=None, cond_dim=8, multiple=8, probe_size=16)
    assert model.hooked_layers == ("latent", "decoder_level3", "decoder_level2", "decoder_level1")
    assert model.level_channels == (64, 32, 16, 16)
    explicit = wrap_backbone(restormer, layers=["decoder_level1", "latent"], semantic_encoder=None, cond_dim=8,
                             multiple=8, probe_size=16)
    assert explicit.hooked_layers == ("latent", "decoder_level1") and explicit.level_channels == (64, 16)
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(explicit(x), restormer(x))


def test_auto_layers_flat_network_swinir() -> None:
    net = make_swinir()
    model = wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16)
    # no resolution change: the residual body (one conv per stage), never the head or conv_last
    assert model.hooked_layers == ("layers.0.conv", "layers.1.conv")
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(model(x), net(x))


def test_default_probe_size_respects_multiple() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 3, 3, padding=1))
    assert wrap_backbone(net, semantic_encoder=None, cond_dim=4).probe_size == 64
    assert wrap_backbone(net, semantic_encoder=None, cond_dim=4, multiple=24).probe_size == 72
    assert wrap_backbone(net, semantic_encoder=None, cond_dim=4, multiple=128).probe_size == 128


def test_auto_layers_scunet() -> None:
    from spandrel.architectures.SCUNet import SCUNet

    net = SCUNet(in_nc=3, config=[1, 1, 1, 1, 1, 1, 1], dim=64).eval()
    # SCUNet reflect-pads its input to a multiple of 64 internally, which fails on a 16x16 probe
    with pytest.raises(RuntimeError, match="probe_size"):
        wrap_backbone(net, semantic_encoder=None, cond_dim=4, probe_size=16)
    model = wrap_backbone(net, semantic_encoder=None, cond_dim=4, multiple=64)
    assert model.hooked_layers == ("m_body", "m_up3", "m_up2", "m_up1")
    assert model.level_channels == (512, 256, 128, 64)


def test_explicit_layers(nafnet) -> None:
    model = wrap_backbone(nafnet, layers=["decoders.3", "middle_blks"], semantic_encoder=None, cond_dim=8,
                          probe_size=16)
    assert model.hooked_layers == ("middle_blks", "decoders.3")  # execution order
    assert model.level_channels == (128, 8)
    # a module inside a resampler is allowed when named explicitly
    inner = wrap_backbone(nafnet, layers=["ups.0.0"], semantic_encoder=None, cond_dim=8, probe_size=16)
    assert inner.level_channels == (256,)


def test_layer_name_errors(nafnet) -> None:
    with pytest.raises(ValueError, match=r"(?s)not a submodule.*middle_blks -> \(2, 128, 1, 1\)"):
        wrap_backbone(nafnet, layers=["middle"], semantic_encoder=None, probe_size=16)
    with pytest.raises(ValueError, match="runs 2 times"):
        wrap_backbone(nafnet, layers=["middle_blks.0.sg"], semantic_encoder=None, probe_size=16)
    with pytest.raises(ValueError, match="not a \\(B, C, H, W\\) feature map"):
        wrap_backbone(nafnet, layers=["middle_blks.0.sca"], semantic_encoder=None, probe_size=16)
    with pytest.raises(ValueError, match="module names"):
        wrap_backbone(nafnet, layers="middle_blks", semantic_encoder=None, probe_size=16)


def test_non_4d_module_error_swinir() -> None:
    with pytest.raises(ValueError, match="feature map"):
        wrap_backbone(make_swinir(), layers=["layers.0.residual_group"], semantic_encoder=None, probe_size=16)


# -- identity at init, shapes, padding -----------------------------------------------------------
def test_identity_at_init_with_semantic_encoder_and_cross_attention(nafnet, tiny_dinov2) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=tiny_dinov2, cond_dim=8, cross_attention=True,
                          image_size=28, probe_size=16)
    assert model.semantic.layers == (12, 8, 4, 1)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(model(x), nafnet(x))


def test_odd_sizes_with_multiple_restormer(restormer) -> None:
    model = wrap_backbone(restormer, semantic_encoder=None, cond_dim=8, multiple=8, probe_size=16)
    x = torch.rand(1, 3, 27, 19)
    out = model(x)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (0, 5, 0, 5), mode="reflect")
    assert torch.equal(out, restormer(padded)[..., :27, :19])
    with pytest.raises(RuntimeError):
        restormer(x)  # the bare Restormer cannot take this size: padding is what makes it work


def test_net_untouched(nafnet) -> None:
    keys_before = list(nafnet.state_dict())
    params_before = sum(1 for _ in nafnet.parameters())
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, probe_size=16)
    x = torch.rand(1, 3, 16, 16)
    model(x)
    assert list(nafnet.state_dict()) == keys_before
    assert sum(1 for _ in nafnet.parameters()) == params_before
    assert all(not m._forward_hooks for m in nafnet.modules())
    assert model.backbone is nafnet
    assert [k for k in model.state_dict() if k.startswith("backbone.")] == ["backbone." + k for k in keys_before]


# -- guidance is live, and only inside the wrapper ------------------------------------------------
def test_guidance_is_live_and_bare_net_unaffected(nafnet) -> None:
    net = copy.deepcopy(nafnet)
    model = wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16)
    x = torch.rand(2, 3, 16, 16)
    bare = net(x)
    _adapter_step(model, x)
    assert not torch.allclose(model(x), bare)
    assert torch.equal(net(x), bare)


def test_every_trainable_parameter_gets_a_gradient(nafnet, tiny_dinov2) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=tiny_dinov2, cond_dim=8, cross_attention=True,
                          image_size=28, probe_size=16)
    model.train()
    assert not model.semantic.encoder.training
    x = torch.rand(2, 3, 16, 16)
    model(x).mean().backward()
    for name, p in model.adapter.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, name
        else:
            assert name.startswith("semantic.encoder."), name
    assert not any(p.requires_grad for p in model.semantic.encoder.parameters())
    model.zero_grad()
    nafnet.eval()


def test_ddp_without_find_unused_parameters(nafnet, tiny_dinov2, tmp_path) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    model = wrap_backbone(copy.deepcopy(nafnet), semantic_encoder=tiny_dinov2, cond_dim=8, cross_attention=True,
                          image_size=28, probe_size=16)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        ddp = DistributedDataParallel(model, find_unused_parameters=False)
        opt = torch.optim.SGD(ddp.parameters(), lr=1e-3)
        x = torch.rand(2, 3, 16, 16)
        for _ in range(3):  # DDP reports unused parameters on the iteration after they were skipped
            opt.zero_grad()
            (ddp(x) - x).abs().mean().backward()
            opt.step()
    finally:
        dist.destroy_process_group()


def test_hooks_act_only_on_the_calling_thread() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 3, 3, padding=1)
            self.side: list[torch.Tensor] = []
            self.spawn = False

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.a(x)
            if self.spawn:  # another thread uses the same module while the wrapper's hooks are in place
                worker = threading.Thread(target=lambda: self.side.append(self.a(x)))
                worker.start()
                worker.join()
            return self.b(y)

    net = Net()
    model = wrap_backbone(net, layers=["a"], semantic_encoder=None, cond_dim=4, probe_size=8)
    x = torch.rand(1, 3, 8, 8)
    _adapter_step(model, x, lr=0.1)
    net.spawn = True
    with torch.no_grad():
        guided = model(x)
        bare_a = net.a(x)
    assert torch.equal(net.side[0], bare_a)  # the other thread ran the bare module
    assert not torch.allclose(guided, net.b(bare_a))  # the calling thread was guided


def test_probe_leaves_train_mode_and_batchnorm_alone() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 3, padding=1)).train()
    net[1].eval()  # a deliberately frozen BatchNorm stays frozen
    stats = (net[1].running_mean.clone(), net[1].running_var.clone(), net[1].num_batches_tracked.clone())
    rng = torch.get_rng_state()
    probe_backbone(net, 8)
    assert torch.equal(torch.get_rng_state(), rng)  # the probe input has its own generator
    wrap_backbone(net, semantic_encoder=None, cond_dim=4, probe_size=8)
    assert net.training and net[0].training and not net[1].training
    assert all(torch.equal(a, b) for a, b in zip(stats, (net[1].running_mean, net[1].running_var,
                                                           net[1].num_batches_tracked), strict=True))


# -- hub I/O ---------------------------------------------------------------------------------------
def test_adapter_only_round_trip(nafnet, tmp_path) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, multiple=16, probe_size=16, cross_attention=True)
    x = torch.rand(2, 3, 16, 16)
    _adapter_step(model, x)
    model.save_pretrained(tmp_path)
    keys = list(load_file(tmp_path / "model.safetensors"))
    assert keys and all(k.startswith("adapter.") for k in keys)
    assert any(".cross_attn." in k for k in keys)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["layers"] == ["middle_blks", "decoders.0", "decoders.1", "decoders.2"]
    assert config["pad_to"] == 16 and config["cond_dim"] == 8 and config["semantic_encoder"] is None
    assert config["cross_attention"] == [True] * 4
    assert config["condition"][0]["class"] == "CompactFeatureExtractor"
    torch.manual_seed(99)
    loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet)
    assert loaded.hooked_layers == model.hooked_layers
    with torch.no_grad():
        expected, got = model(x), loaded(x)
        assert torch.equal(expected, got)
        assert not torch.equal(expected, nafnet(x))


def test_from_pretrained_needs_backbone(nafnet, tmp_path) -> None:
    wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, probe_size=16).save_pretrained(tmp_path)
    with pytest.raises(TypeError, match="backbone=net"):
        WrappedBackbone.from_pretrained(tmp_path)


def test_load_onto_a_different_network_fails(tmp_path) -> None:
    def net(width: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1),
                             nn.Conv2d(width, 3, 3, padding=1))

    wrap_backbone(net(8), layers=["1"], semantic_encoder=None, cond_dim=4, probe_size=8).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="not the network it was trained on"):
        WrappedBackbone.from_pretrained(tmp_path, backbone=net(4))
    with pytest.raises(RuntimeError, match="Strict key check"):
        WrappedBackbone.from_pretrained(tmp_path, backbone=net(8), cross_attention=True)


def test_in_memory_encoder_is_saved_and_reloads(nafnet, tiny_dinov2, tmp_path) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=tiny_dinov2, cond_dim=8, image_size=28, probe_size=16)
    x = torch.rand(2, 3, 16, 16)
    _adapter_step(model, x)
    model.save_pretrained(tmp_path)
    keys = list(load_file(tmp_path / "model.safetensors"))
    assert any(k.startswith("adapter.semantic.encoder.") for k in keys)
    assert not any(k.startswith("backbone.") for k in keys)
    torch.manual_seed(5)
    loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
        assert not torch.equal(model(x), nafnet(x))


def test_hub_encoder_is_referenced_not_saved(nafnet, tiny_dinov2, tmp_path, monkeypatch) -> None:
    from transformers import AutoModel

    def fake_load(name, revision):
        torch.manual_seed(7)
        return AutoModel.from_config(tiny_dinov2)

    monkeypatch.setattr("perceive_ir.perceive.semantic._load_hub_encoder", fake_load)
    model = wrap_backbone(nafnet, semantic_encoder="someone/dinov2", semantic_encoder_revision="v1", cond_dim=8,
                          image_size=28, probe_size=16)
    x = torch.rand(1, 3, 16, 16)
    _adapter_step(model, x)
    model.save_pretrained(tmp_path)
    keys = list(load_file(tmp_path / "model.safetensors"))
    assert not any(k.startswith(("adapter.semantic.encoder.", "backbone.")) for k in keys)
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["semantic_encoder"], config["encoder_revision"]) == ("someone/dinov2", "v1")
    loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


# -- condition sources ---------------------------------------------------------------------------
def test_cfe_only_mode(nafnet) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=12, probe_size=16)
    assert model.semantic.encoder is None
    assert isinstance(model.adapter.condition[0], CompactFeatureExtractor)
    assert all(head.mlp[0].in_features == 12 for head in model.semantic.heads)
    guidance = model.compute_guidance(torch.rand(2, 3, 16, 16))
    assert guidance.z.shape == (2, 12) and guidance.features == []


def test_custom_condition_in_place_of_and_beside_cfe(nafnet, tmp_path) -> None:
    source = TinyCondition(5)
    model = wrap_backbone(nafnet, semantic_encoder=None, condition=source, probe_size=16)
    assert model.total_cond_dim == 5 and model.adapter.condition[0] is source
    beside = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, condition=["cfe", TinyCondition(5)],
                           probe_size=16)
    assert beside.total_cond_dim == 13
    x = torch.rand(2, 3, 16, 16)
    assert beside.compute_guidance(x).z.shape == (2, 13)
    _adapter_step(beside, x)
    beside.save_pretrained(tmp_path)
    with pytest.raises(TypeError, match="condition="):
        WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet)
    with pytest.raises(ValueError, match="cond_dim"):
        WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet, condition=["cfe", TinyCondition(4)])
    loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet, condition=["cfe", TinyCondition(5)])
    with torch.no_grad():
        assert torch.equal(beside(x), loaded(x))


def test_hub_condition_source_rebuilds_without_help(nafnet, tmp_path) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=None, condition=CompactFeatureExtractor(dim=6), probe_size=16)
    model.save_pretrained(tmp_path)
    loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet)
    assert isinstance(loaded.adapter.condition[0], CompactFeatureExtractor)
    assert loaded.total_cond_dim == 6


def test_bad_condition_output_is_reported(nafnet) -> None:
    class Wrong(TinyCondition):
        def forward(self, degraded):
            return super().forward(degraded)[:, :2]

    model = wrap_backbone(nafnet, semantic_encoder=None, condition=Wrong(5), probe_size=16)
    with pytest.raises(ValueError, match=r"condition\[0\] output"):
        model(torch.rand(1, 3, 16, 16))


# -- tiled guidance --------------------------------------------------------------------------------
def test_guidance_shared_by_tiles(nafnet) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, probe_size=16)
    x = torch.rand(1, 3, 32, 32)
    _adapter_step(model, x)
    with torch.no_grad():
        guidance = model.compute_guidance(x)
        assert isinstance(guidance, Guidance)
        assert torch.equal(model.forward_with_guidance(x, guidance), model(x))
        tiles = torch.cat([x[..., :16, :16], x[..., 16:, 16:]])
        batched = model.forward_with_guidance(tiles, guidance)
        single = model.forward_with_guidance(tiles[1:], guidance)
        torch.testing.assert_close(batched[1:], single, rtol=1e-5, atol=1e-6)
        own = model(tiles[1:])  # guidance from the tile alone differs from the whole image's
        assert not torch.allclose(own, single)
    with pytest.raises(TypeError, match="guidance"):
        model.forward_with_guidance(tiles, {"z": guidance.z})
    two = Guidance(guidance.z.expand(2, -1), [])
    with pytest.raises(ValueError, match="samples"):
        model.forward_with_guidance(torch.rand(3, 3, 16, 16), two)


# -- input validation ----------------------------------------------------------------------------
def test_bad_inputs(nafnet) -> None:
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, probe_size=16)
    with pytest.raises(TypeError, match="degraded"):
        model(torch.zeros(1, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="degraded"):
        model(torch.rand(1, 1, 16, 16))
    # values are checked at the edges (restore(), the CLI), not in forward (no device sync there)
    from perceive_ir import restore

    with pytest.raises(ValueError, match="`image`.*divide by 255"):
        restore(model, torch.rand(1, 3, 16, 16) * 255)
    with pytest.raises(ValueError, match="`image` contains NaN or Inf"):
        restore(model, torch.full((1, 3, 16, 16), float("nan")))
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 16) * 255).shape == (1, 3, 16, 16)
    with pytest.raises(TypeError, match="`net`"):
        wrap_backbone("restormer")
    with pytest.raises(TypeError, match="already a WrappedBackbone"):
        wrap_backbone(model)
    with pytest.raises(ValueError, match="multiple"):
        wrap_backbone(nafnet, semantic_encoder=None, multiple=0)
    with pytest.raises(ValueError, match="cond_dim"):
        wrap_backbone(nafnet, semantic_encoder=None, cond_dim=0)
    with pytest.raises(TypeError, match="condition"):
        wrap_backbone(nafnet, semantic_encoder=None, condition=object(), probe_size=16)
    with pytest.raises(TypeError, match="cond_dim"):
        wrap_backbone(nafnet, semantic_encoder=None, condition=nn.Conv2d(3, 3, 1), probe_size=16)
    with pytest.raises(ValueError, match="probe_size"):
        wrap_backbone(nafnet, semantic_encoder=None, multiple=8, probe_size=20)
    with pytest.raises(ValueError, match="semantic_layers"):
        wrap_backbone(nafnet, semantic_encoder=None, semantic_layers=(1, 2), probe_size=16)
