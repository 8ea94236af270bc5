import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from perceive_ir import CompactFeatureExtractor, ConditionSource, degradation_contrastive_loss

from .._gradcheck import as_inputs, assert_gradcheck


def test_embeddings_are_unit_norm_and_follow_the_released_layout():
    cfe = CompactFeatureExtractor(dim=64)
    z = cfe(torch.rand(3, 3, 50, 37))
    assert z.shape == (3, 64)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(3))
    convs = [m for m in cfe.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [
        (3, 32, (2, 2)), (32, 64, (2, 2)), (64, 96, (2, 2)), (96, 128, (2, 2))
    ]
    assert isinstance(cfe, ConditionSource) and cfe.cond_dim == 64


def test_any_device_and_dtype(device, float_dtype):
    cfe = CompactFeatureExtractor(dim=16).to(device, float_dtype)
    z = cfe(torch.rand(2, 3, 33, 20, device=device, dtype=float_dtype))
    assert z.shape == (2, 16) and z.dtype == float_dtype and z.device.type == device.type
    torch.testing.assert_close(z.norm(dim=1), torch.ones(2, device=device, dtype=float_dtype))


def test_round_trip(tmp_path):
    cfe = CompactFeatureExtractor(in_channels=3, dim=32)
    cfe.save_pretrained(tmp_path)
    loaded = CompactFeatureExtractor.from_pretrained(tmp_path)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), cfe(x), rtol=0, atol=0)


def test_bad_inputs():
    cfe = CompactFeatureExtractor()
    with pytest.raises(ValueError, match="`degraded` must have 3 channels"):
        cfe(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match="`dim`"):
        CompactFeatureExtractor(dim=0)
    with pytest.raises(ValueError, match="`labels`"):
        degradation_contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="`temperature`"):
        degradation_contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), temperature=0)


def test_infonce_prefers_aligned_pairs_and_labels_remove_negatives():
    anchor = torch.nn.functional.normalize(torch.randn(6, 16), dim=1)
    aligned = degradation_contrastive_loss(anchor, anchor + 0.01 * torch.randn(6, 16))
    shuffled = degradation_contrastive_loss(anchor, anchor[torch.randperm(6)])
    assert aligned < 0.05 < shuffled
    # every other sample shares the label: no negative is left, so the loss is exactly zero
    same = degradation_contrastive_loss(anchor, torch.randn(6, 16), labels=torch.zeros(6, dtype=torch.long))
    assert same.item() == 0.0
    # matches a hand-written InfoNCE with tau = 0.1
    pos = torch.randn(6, 16)
    logits = anchor @ torch.nn.functional.normalize(pos, dim=1).T / 0.1
    expected = torch.nn.functional.cross_entropy(logits, torch.arange(6))
    torch.testing.assert_close(degradation_contrastive_loss(anchor, pos), expected)


def test_contrastive_loss_gradcheck():
    anchor, positive = as_inputs(torch.randn(4, 6), torch.randn(4, 6))
    assert_gradcheck(lambda a, p: degradation_contrastive_loss(a, p, temperature=0.5), (anchor, positive))


def test_contrastive_loss_gradcheck_with_masked_negatives():
    """Labels mask same-degradation negatives out (-inf logits); gradients of what is left are exact."""
    anchor, positive = as_inputs(torch.randn(5, 6), torch.randn(5, 6))
    labels = torch.tensor([0, 0, 1, 2, 1])
    assert_gradcheck(lambda a, p: degradation_contrastive_loss(a, p, labels), (anchor, positive))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, anchor, positive, labels, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        local = slice(rank * 4, (rank + 1) * 4)
        a = anchor[local].clone().requires_grad_()
        loss = degradation_contrastive_loss(a, positive[local], labels[local])
        loss.backward()
        results[rank] = (loss.detach(), a.grad)
    finally:
        dist.destroy_process_group()


def test_negatives_are_gathered_across_processes():
    anchor, positive = torch.randn(8, 16), torch.randn(8, 16)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 3, 3])
    results = mp.Manager().dict()
    mp.spawn(_worker, args=(2, _free_port(), anchor, positive, labels, results), nprocs=2, join=True)
    # the mean of the per-rank losses equals the single-process loss on the global batch
    full = degradation_contrastive_loss(anchor, positive, labels)
    torch.testing.assert_close((results[0][0] + results[1][0]) / 2, full)
