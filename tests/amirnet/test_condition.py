"""AMIRNet's degradation tree as the condition source of a wrapped backbone (issue 4, interplay)."""

import torch
from torch import nn

from perceive_ir import DegradationTree, wrap_backbone
from perceive_ir.amirnet import collect_representations
from perceive_ir.data.synthetic import synthetic_pairs


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.GELU(), nn.Conv2d(16, 16, 3, padding=1), nn.GELU(),
                         nn.Conv2d(16, 3, 3, padding=1))


def _grown_tree() -> DegradationTree:
    tree = DegradationTree()
    degraded, clean, _ = synthetic_pairs(16, size=32, generator=torch.Generator().manual_seed(0))
    reps, ids = collect_representations(tree, [(degraded, clean)], progress=False)
    tree.grow(reps, ids)
    return tree


def test_tree_conditions_a_wrapped_backbone_in_place_of_or_beside_the_cfe(tmp_path):
    tree = _grown_tree()
    x = torch.rand(2, 3, 32, 32)
    for condition in (tree, ["cfe", tree]):
        net = _net()
        model = wrap_backbone(net, semantic_encoder=None, condition=condition)
        with torch.no_grad():
            torch.testing.assert_close(model(x), net(x))  # identity at initialisation
        expected_dim = tree.cond_dim + (128 if isinstance(condition, list) else 0)
        assert model.compute_guidance(x).z.shape == (2, expected_dim)


def test_wrapped_model_with_a_tree_round_trips(tmp_path):
    tree = _grown_tree()
    net = _net()
    model = wrap_backbone(net, semantic_encoder=None, condition=tree)
    for p in model.adapter.parameters():  # make the adapter non-trivial
        p.data.add_(0.01 * torch.randn_like(p))
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path, backbone=net)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    loaded_tree = loaded.adapter.condition[0]
    assert isinstance(loaded_tree, DegradationTree) and loaded_tree.depth_grown == tree.depth_grown
