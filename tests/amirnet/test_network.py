"""The AMIRNet network: shapes, conditioning, a training step, hub round trip, input checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from perceive_ir.amirnet import AMIRNet, amirnet
from perceive_ir.amirnet.ftb import FeatureTransformBlock
from perceive_ir.data.synthetic import synthetic_pairs
from perceive_ir.retrofit.condition import ConditionSource

TINY = {"width": 8, "tree": {"encoder_widths": (8, 16, 16), "crop_size": 16, "n_crops": 2}}


def tiny(**kwargs) -> AMIRNet:
    return amirnet(**{**TINY, **kwargs})


def test_default_model_restores_any_size_on_cpu():
    net = amirnet()
    assert net.width == 32 and net.tree.cond_dim == 15 and net.multiple == 8
    assert isinstance(net.tree, ConditionSource)
    assert sum(isinstance(m, FeatureTransformBlock) for m in net.modules()) == 3
    x = torch.rand(1, 3, 37, 29)
    with torch.no_grad():
        out = net(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("size", [(5, 7), (16, 16), (33, 18)])
def test_output_keeps_the_input_size(size):
    net = tiny(enc_blocks=(1, 2), dec_blocks=(1, 1), middle_blocks=2)
    x = torch.rand(2, 3, *size)
    assert net(x).shape == x.shape


def test_configurable_tree_and_blocks():
    net = amirnet(width=8, enc_blocks=(2, 1), dec_blocks=(1, 1), middle_blocks=0, depth=2, branching=3)
    assert net.tree.cond_dim == 13 and net.multiple == 4
    assert [len(blocks) for blocks in net.encoders] == [2, 1]
    assert net(torch.rand(1, 3, 12, 12)).shape == (1, 3, 12, 12)


def _grown(net: AMIRNet, n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    degraded, clean, _ = synthetic_pairs(n, 24, generator=torch.Generator().manual_seed(0))
    reps = net.tree.representation(degraded, clean)
    net.tree.grow(reps, torch.arange(n))
    net.tree.grow(reps, torch.arange(n))
    return degraded, clean


def test_training_step_updates_restorer_and_tree_separately():
    net = tiny()
    degraded, clean = _grown(net)
    opt = torch.optim.Adam(net.parameter_groups(1e-3))
    assert len(opt.param_groups) == 3
    restored = net(degraded)
    F.l1_loss(restored, clean).backward()
    ftb = net.encoders[0][0]
    assert ftb.beta.weight.grad.abs().sum() > 0  # the condition reaches the FTB predictors
    assert all(p.grad is None for p in net.tree.parameters())  # condition_grad=False: tree untouched
    net.tree.pseudo_label_loss(degraded, net.tree.targets(torch.arange(16))).backward()
    assert net.tree.heads[1][1].weight.grad.abs().sum() > 0
    opt.step()


def test_condition_grad_lets_the_restoration_loss_reach_the_tree():
    net = tiny(condition_grad=True)
    degraded, clean = _grown(net)
    with torch.no_grad():
        for block in net.encoders[0]:
            block.beta.weight.normal_()
    F.l1_loss(net(degraded), clean).backward()
    assert net.tree.heads[0][1].weight.grad.abs().sum() > 0


def test_an_explicit_condition_overrides_the_tree():
    net = tiny()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(net(x, cond=net.tree(x)), net(x))
    assert (net(x, cond=torch.rand(2, 15)) - net(x)).abs().max() > 0
    with pytest.raises(ValueError, match="cond"):
        net(x, cond=torch.rand(2, 4))


def test_save_load_round_trip(tmp_path):
    net = tiny(enc_blocks=(1, 1), dec_blocks=(1, 1))
    degraded, _ = _grown(net)
    with torch.no_grad():  # a "trained" network, so that the comparison means something
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    net.save_pretrained(tmp_path)
    loaded = AMIRNet.from_pretrained(tmp_path)
    assert loaded.get_config() == net.get_config()
    with torch.no_grad():
        torch.testing.assert_close(loaded(degraded), net(degraded), rtol=0, atol=0)
    assert loaded.tree.depth_grown == 2
    assert torch.equal(loaded.tree.pseudo_labels, net.tree.pseudo_labels)
    assert torch.equal(loaded.tree.sample_ids, net.tree.sample_ids)


def test_loading_into_a_different_configuration_fails(tmp_path):
    tiny().save_pretrained(tmp_path)
    with pytest.raises(RuntimeError, match="Strict key check"):
        AMIRNet.from_pretrained(tmp_path, enc_blocks=(2, 1, 1))


@pytest.mark.parametrize(
    "bad, err, msg",
    [
        (torch.randint(0, 255, (1, 3, 16, 16), dtype=torch.uint8), TypeError, "degraded.*floating"),
        (torch.rand(1, 4, 16, 16), ValueError, "degraded.*3 channels"),
        (torch.rand(16, 16), ValueError, "degraded.*dimensions"),
        (torch.rand(1, 3, 3, 16), ValueError, "degraded.*at least"),
    ],
)
def test_bad_inputs(bad, err, msg):
    with pytest.raises(err, match=msg):
        tiny()(bad)


@pytest.mark.parametrize(
    "bad, msg",
    [(torch.rand(1, 3, 16, 16) * 255, "image.*255"), (torch.full((1, 3, 16, 16), float("inf")), "image.*NaN or Inf")],
)
def test_bad_values_are_refused_at_the_edge(bad, msg):
    """The forward checks shapes only (no device sync); restore(), the CLI and the datasets check values."""
    from perceive_ir import restore

    with pytest.raises(ValueError, match=msg):
        restore(tiny(), bad)
    with torch.no_grad():
        assert tiny()(bad).shape == bad.shape


@pytest.mark.parametrize("kwargs, msg", [({"enc_blocks": (1, 1), "dec_blocks": (1,)}, "enc_blocks"),
                                         ({"width": 0}, "width"), ({"enc_blocks": (), "dec_blocks": ()}, "enc_blocks")])
def test_bad_constructor_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        AMIRNet(**kwargs)
