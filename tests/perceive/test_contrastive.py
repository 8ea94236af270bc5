"""L_cl: the authors' formula (reference values and gradients), its options, and its gathering across processes."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from safetensors.torch import load_file

from perceive_ir import degradation_contrastive_loss

from .._gradcheck import as_inputs, assert_gradcheck


def _unit(*shape: int) -> torch.Tensor:
    return F.normalize(torch.randn(*shape), dim=-1)


@pytest.mark.parametrize("case", ["mixed", "two", "same"])
def test_the_authors_values_gradients_and_valid_fraction(official_ref, case, recwarn):
    ref = load_file(official_ref / "losses" / "contrastive.safetensors")
    anchor = ref[f"cl_{case}_anchor"].clone().requires_grad_()
    positive = ref[f"cl_{case}_positive"].clone().requires_grad_()
    loss, valid = degradation_contrastive_loss(anchor, positive, ref[f"cl_{case}_labels"], return_valid_fraction=True)
    loss.backward()
    torch.testing.assert_close(loss.reshape(1), ref[f"cl_{case}_loss"], rtol=0, atol=1e-5)
    torch.testing.assert_close(anchor.grad, ref[f"cl_{case}_grad_anchor"], rtol=0, atol=1e-5)
    torch.testing.assert_close(positive.grad, ref[f"cl_{case}_grad_positive"], rtol=0, atol=1e-5)
    assert valid == pytest.approx(float(ref[f"cl_{case}_valid_fraction"]))
    if case == "same":
        assert loss.item() == 0.0  # one label everywhere: no negative at all
    else:
        assert loss.item() > 0 and anchor.grad.abs().sum() > 0


def test_the_formula_by_hand_with_detached_anchor_negatives():
    torch.manual_seed(0)
    anchor, positive = _unit(5, 8).requires_grad_(), _unit(5, 8).requires_grad_()
    labels = torch.tensor([0, 0, 1, 2, 1])
    loss = degradation_contrastive_loss(anchor, positive, labels)
    terms = []
    for i in range(5):
        others = anchor.detach()[labels != labels[i]]
        logits = torch.cat([(anchor[i] @ positive[i]).view(1), anchor[i] @ others.T]) / 0.1
        terms.append(torch.logsumexp(logits, 0) - logits[0])
    by_hand = torch.stack(terms).mean()
    torch.testing.assert_close(loss, by_hand)
    grads = torch.autograd.grad(loss, (anchor, positive), retain_graph=True)
    for grad, expected in zip(grads, torch.autograd.grad(by_hand, (anchor, positive), retain_graph=True), strict=True):
        torch.testing.assert_close(grad, expected)
    # the negatives are detached: sample i's gradient comes from its own term only
    (own,) = torch.autograd.grad(terms[3] / 5, anchor)
    torch.testing.assert_close(grads[0][3], own[3])
    # without labels every other sample is a negative
    no_labels = degradation_contrastive_loss(anchor, positive)
    assert no_labels > loss


def test_infonce_prefers_aligned_pairs():
    torch.manual_seed(1)
    anchor = _unit(6, 16)
    labels = torch.arange(6)
    aligned = degradation_contrastive_loss(anchor, anchor, labels)
    shuffled = degradation_contrastive_loss(anchor, anchor[torch.tensor([1, 2, 3, 4, 5, 0])], labels)
    assert aligned < 0.05 < shuffled


def test_the_authors_formula_gradcheck_wrt_the_positive():
    """Finite differences move the detached negatives too, so only the positive is checked this way."""
    anchor, positive = as_inputs(_unit(5, 6), _unit(5, 6))
    labels = torch.tensor([0, 0, 1, 2, 1])
    assert_gradcheck(lambda p: degradation_contrastive_loss(anchor.detach(), p, labels, temperature=0.5), (positive,))


def test_the_earlier_formula_is_kept_as_an_option():
    torch.manual_seed(2)
    anchor, positive = torch.randn(6, 16), torch.randn(6, 16)
    logits = F.normalize(anchor, dim=1) @ F.normalize(positive, dim=1).T / 0.1
    expected = F.cross_entropy(logits, torch.arange(6))
    torch.testing.assert_close(degradation_contrastive_loss(anchor, positive, negatives="positives"), expected)
    assert not torch.allclose(degradation_contrastive_loss(anchor, positive), expected)
    a, p = as_inputs(torch.randn(5, 6), torch.randn(5, 6))
    labels = torch.tensor([0, 0, 1, 2, 1])
    assert_gradcheck(lambda x, y: degradation_contrastive_loss(x, y, labels, negatives="positives"), (a, p))
    with pytest.raises(ValueError, match="`negatives` must be 'anchors' or 'positives'"):
        degradation_contrastive_loss(anchor, positive, negatives="keys")  # type: ignore[arg-type]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="`labels`"):
        degradation_contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="`temperature`"):
        degradation_contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), temperature=0)


# ----------------------------------------------------------------------------------------------
# two processes (gloo, CPU)

#: Global batch, its labels, and the two splits: unequal for the authors' formula, equal for the earlier one.
_LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 3, 3])
_SPLITS = {"anchors": (5, 3), "positives": (4, 4)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, anchor, positive, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for negatives, sizes in _SPLITS.items():
            start = sum(sizes[:rank])
            local = slice(start, start + sizes[rank])
            a = anchor[local].clone().requires_grad_()
            p = positive[local].clone().requires_grad_()
            loss = degradation_contrastive_loss(a, p, _LABELS[local], negatives=negatives)
            loss.backward()
            results[(negatives, rank)] = (loss.detach(), a.grad, p.grad)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # spawns two processes: 13 s
def test_two_processes_give_the_single_process_loss_of_the_whole_batch():
    torch.manual_seed(3)
    anchor, positive = _unit(8, 16), _unit(8, 16)
    results = mp.Manager().dict()
    mp.spawn(_worker, args=(2, _free_port(), anchor, positive, results), nprocs=2, join=True)
    for negatives, sizes in _SPLITS.items():
        a, p = anchor.clone().requires_grad_(), positive.clone().requires_grad_()
        full = degradation_contrastive_loss(a, p, _LABELS, negatives=negatives)
        full.backward()
        # each process averages its own samples; weighted by their number, the processes give the global mean
        losses = [results[(negatives, r)][0] for r in range(2)]
        torch.testing.assert_close(sum(n * v for n, v in zip(sizes, losses, strict=True)) / 8, full)
        grad_a = torch.cat([results[(negatives, r)][1] * sizes[r] / 8 for r in range(2)])
        if negatives == "anchors":  # detached negatives: the local gradient is the sample's own
            torch.testing.assert_close(grad_a, a.grad)
            grad_p = torch.cat([results[(negatives, r)][2] * sizes[r] / 8 for r in range(2)])
            torch.testing.assert_close(grad_p, p.grad)
