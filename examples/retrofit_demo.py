"""Retrofit a restoration network with perceive-ir, in your own training loop.

On the photographs that ship with scikit-image, this script

1. synthesises the 3-task degradations (noise σ=25, rain, haze) on random crops;
2. trains the quality perceiver's prompts on (low, medium, high) triplets — medium here is
   the cheap "mild" approximation (a half-way blend), not the paper's cross-fitted restorer;
3. trains a small NAFNet (spandrel's architecture) twice on the same budget and data:
   bare with L1, and wrapped with ``wrap_backbone`` and trained with ``QualityAwareLoss``;
4. evaluates both on crops of held-out photographs (PSNR/SSIM per task, torchmetrics) and
   writes a report folder: ``results.json``, ``results.md`` and a crop grid.

Offline (the default) CLIP and DINOv2 are tiny *random* models built from configs: the
pipeline runs end to end, but the perceiver and the semantic guidance carry no pretrained
knowledge, so the numbers say nothing about the method. Pass ``--clip-model ViT-B-32
--clip-pretrained openai --semantic-encoder facebook/dinov2-base`` where the Hub is reachable.

    python examples/retrofit_demo.py [--steps 300] [--out reports/retrofit-demo]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from spandrel.architectures.NAFNet.__arch.NAFNet_arch import NAFNet
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
from tqdm import trange

from perceive_ir import QualityAwareLoss, QualityPerceiver, wrap_backbone
from perceive_ir.data import get_degradation, paired_random_crop, sample_images, task_id
from perceive_ir.hub import atomic_write_bytes
from perceive_ir.perceive.losses import VGG16FeatureSpace, VGG16WeightsNotFoundError
from perceive_ir.testing import tiny_clip_config, tiny_dinov2_config

TASKS = {"denoise": "noise25", "derain": "rain", "dehaze": "haze"}
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "motorcycle")
TEST_PHOTOS = ("chelsea", "immunohistochemistry")


def make_pairs(photos: dict[str, torch.Tensor], count: int, size: int, seed: int) -> dict[str, torch.Tensor]:
    """``count`` aligned (degraded, clean) crops per task, cycling over the photos."""
    g = torch.Generator().manual_seed(seed)
    names = sorted(photos)
    degraded, clean, labels = [], [], []
    for task, preset in TASKS.items():
        degradation = get_degradation(preset)
        for i in range(count):
            (crop,) = paired_random_crop([photos[names[i % len(names)]]], size, generator=g)
            degraded.append(degradation(crop, seed=seed * 100_000 + len(degraded)))
            clean.append(crop)
            labels.append(task_id(task))
    return {"degraded": torch.stack(degraded), "clean": torch.stack(clean), "task": torch.tensor(labels)}


def small_nafnet() -> torch.nn.Module:
    """A width-16 NAFNet with one block per level: small enough to train on a CPU in minutes."""
    return NAFNet(img_channel=3, width=16, middle_blk_num=1, enc_blk_nums=[1, 1, 1], dec_blk_nums=[1, 1, 1])


def train_perceiver(perceiver: QualityPerceiver, pairs: dict[str, torch.Tensor], steps: int, seed: int) -> list[float]:
    """Train the perceiver's prompt context on (degraded, half-way blend, clean) triplets.

    Only ``perceiver.prompts.ctx`` is optimised (AdamW, lr 2e-3, batches of 8 drawn with ``seed``).

    Returns:
        The triplet loss of every step.
    """
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([perceiver.prompts.ctx], lr=2e-3)
    losses = []
    for _ in trange(steps, desc="perceiver prompts"):
        idx = torch.randint(0, len(pairs["clean"]), (8,), generator=g)
        low, high = pairs["degraded"][idx], pairs["clean"][idx]
        medium = 0.5 * (low + high)  # the "mild" stand-in for a partially restored image
        loss = perceiver.triplet_loss(low, medium, high)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def train_restorer(model, loss_fn, pairs, steps: int, batch: int, seed: int, desc: str) -> list[float]:
    """Train ``model``'s trainable parameters for ``steps`` steps (AdamW 1e-3, cosine schedule).

    Args:
        model: The network to train, called on a degraded batch.
        loss_fn: ``loss_fn(restored, clean, degraded)`` returning a scalar tensor.
        pairs: Training pairs from :func:`make_pairs`.
        steps: Number of optimiser steps.
        batch: Samples per step, drawn at random with ``seed``.
        seed: Seed of the batch sampling.
        desc: Label of the progress bar.

    Returns:
        The loss of every step.
    """
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    model.train()
    losses = []
    for _ in trange(steps, desc=desc):
        idx = torch.randint(0, len(pairs["clean"]), (batch,), generator=g)
        degraded, clean = pairs["degraded"][idx], pairs["clean"][idx]
        loss = loss_fn(model(degraded), clean, degraded)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def evaluate(model: torch.nn.Module, pairs: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """PSNR and SSIM of ``model``'s (clamped) output per task, and the PSNR of the degraded input.

    Returns:
        ``{task: {"psnr", "ssim", "psnr_input"}}`` over all of that task's pairs.
    """
    model.eval()
    results = {}
    for task in TASKS:
        mask = pairs["task"] == task_id(task)
        restored = model(pairs["degraded"][mask]).clamp(0, 1)
        clean = pairs["clean"][mask]
        results[task] = {
            "psnr": float(peak_signal_noise_ratio(restored, clean, data_range=1.0)),
            "ssim": float(structural_similarity_index_measure(restored, clean, data_range=1.0)),
            "psnr_input": float(peak_signal_noise_ratio(pairs["degraded"][mask], clean, data_range=1.0)),
        }
    return results


def save_grid(path: Path, rows: list[list[torch.Tensor]], titles: list[str]) -> None:
    """Save a grid of ``3×H×W`` images as a PNG, one column per title (written to a temporary file, then moved)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), len(titles), figsize=(2.2 * len(titles), 2.2 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            axes[r][c].imshow(image.clamp(0, 1).permute(1, 2, 0).numpy())
            axes[r][c].set_axis_off()
            if r == 0:
                axes[r][c].set_title(titles[c], fontsize=9)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def main() -> None:
    """Run the whole demo from the command line and write the report folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="restoration training steps per model")
    parser.add_argument("--perceiver-steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-model", default=None, help="open_clip name; default: tiny random (offline)")
    parser.add_argument("--clip-pretrained", default=None)
    parser.add_argument("--semantic-encoder", default=None, help="Hub id; default: tiny random DINOv2 (offline)")
    parser.add_argument("--out", type=Path, default=Path("reports/retrofit-demo"))
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    photos = sample_images()
    train = make_pairs({k: photos[k] for k in TRAIN_PHOTOS}, count=64, size=args.crop, seed=args.seed)
    test = make_pairs({k: photos[k] for k in TEST_PHOTOS}, count=16, size=args.crop, seed=args.seed + 1)
    offline = args.clip_model is None
    perceiver = QualityPerceiver(
        clip_model=args.clip_model or tiny_clip_config(), clip_pretrained=args.clip_pretrained
    )
    perceiver_losses = train_perceiver(perceiver, train, args.perceiver_steps, args.seed)

    bare = small_nafnet()
    wrapped_net = small_nafnet()
    wrapped_net.load_state_dict(bare.state_dict())  # same start: the comparison is the method alone
    wrapped = wrap_backbone(wrapped_net, semantic_encoder=args.semantic_encoder or tiny_dinov2_config(), multiple=8)
    try:
        feature_space: object = VGG16FeatureSpace()  # the paper's ImageNet VGG-16 (the loss's default)
    except VGG16WeightsNotFoundError:
        feature_space = "clip"  # its weights are not on this machine: the perceiver's CLIP tower, not the paper's
    print(f"L_dpl feature space: {'ImageNet VGG-16' if feature_space != 'clip' else 'CLIP (offline fallback)'}")
    quality_loss = QualityAwareLoss(perceiver, feature_space=feature_space)

    curves = {
        "bare_l1": train_restorer(
            bare, lambda r, c, d: F.l1_loss(r, c), train, args.steps, args.batch, args.seed, "bare NAFNet, L1"
        ),
        "wrapped_quality_aware": train_restorer(
            wrapped, lambda r, c, d: quality_loss(r, c, d).loss, train, args.steps, args.batch, args.seed,
            "wrapped NAFNet, QualityAwareLoss",
        ),
    }
    results = {"bare_l1": evaluate(bare, test), "wrapped_quality_aware": evaluate(wrapped, test)}

    with torch.no_grad():
        tier_probs = perceiver.probabilities(torch.cat([test["degraded"][:4], test["clean"][:4]])).tolist()
    note = (
        "Offline run: CLIP and DINOv2 are tiny random models; the numbers exercise the pipeline only."
        if offline
        else f"CLIP {args.clip_model}/{args.clip_pretrained}, DINOv2 {args.semantic_encoder}."
    )
    report = {
        "note": note,
        "protocol": f"{args.crop}² crops; train photos {TRAIN_PHOTOS}, test photos {TEST_PHOTOS}; "
        f"{args.steps} steps, batch {args.batch}, AdamW 1e-3 cosine; PSNR/SSIM on RGB in [0, 1] (torchmetrics)",
        "hooked_layers": list(wrapped.hooked_layers),
        "results": results,
        "perceiver_loss_first_last": [perceiver_losses[0], perceiver_losses[-1]],
        "perceiver_tier_probabilities_degraded_then_clean": tier_probs,
        "final_train_loss": {k: v[-1] for k, v in curves.items()},
        "seconds": round(time.time() - started, 1),
    }
    atomic_write_bytes(args.out / "results.json", json.dumps(report, indent=2).encode())
    lines = [
        f"# Retrofit demo\n\n> {note}\n\nProtocol: {report['protocol']}.\n",
        "| task | input PSNR | bare L1 PSNR / SSIM | wrapped + QualityAwareLoss PSNR / SSIM |",
        "|---|---|---|---|",
    ]
    for task in TASKS:
        b, w = results["bare_l1"][task], results["wrapped_quality_aware"][task]
        lines.append(
            f"| {task} | {b['psnr_input']:.2f} | {b['psnr']:.2f} / {b['ssim']:.3f} "
            f"| {w['psnr']:.2f} / {w['ssim']:.3f} |"
        )
    markdown = "\n".join(lines) + "\n"
    atomic_write_bytes(args.out / "results.md", markdown.encode())
    with torch.no_grad():
        picks = [int((test["task"] == task_id(t)).nonzero()[0]) for t in TASKS]
        rows = [[test["degraded"][i], bare(test["degraded"][i : i + 1])[0], wrapped(test["degraded"][i : i + 1])[0],
                 test["clean"][i]] for i in picks]
    save_grid(args.out / "crops.png", rows, ["degraded", "bare (L1)", "wrapped (QA loss)", "clean"])
    print("\n" + markdown)
    print(f"Report written to {args.out}/ in {report['seconds']} s")


if __name__ == "__main__":
    main()
