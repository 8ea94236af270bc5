"""What does QualityAwareLoss cost on top of a training step?

Compares, side by side in one run (round-robin, median of rounds):

* ``l1``          — L1 loss + backward;
* ``lower_bound`` — the least any CLIP-based quality-aware loss can cost: one CLIP image
  forward+backward on the restored batch plus one no-grad CLIP image forward on the other
  images (target, degraded, medium);
* ``quality_aware`` — ``QualityAwareLoss`` (CLIP feature space, one medium negative) + backward.

Target: quality_aware / lower_bound ≤ 1.15. The CLIP model is the real-size ViT-B/32 built
from its open_clip config with random weights: speed does not depend on the weights.

    .venv/bin/python benchmarks/bench_quality_loss.py [--batch 8] [--size 224] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved_median  # noqa: E402

from perceive_ir import QualityAwareLoss, QualityPerceiver  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)

    perceiver = QualityPerceiver("ViT-B-32", clip_pretrained=None).to(device)
    loss_fn = QualityAwareLoss(perceiver, feature_space="clip")  # paper weights, CLIP feature space, proxy-PSNR rule
    b, s = args.batch, args.size
    clean = torch.rand(b, 3, s, s, device=device)
    degraded = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    medium = (0.5 * clean + 0.5 * degraded).clamp(0, 1)
    base = (0.8 * clean + 0.2 * degraded).clamp(0, 1)
    clip = perceiver.clip

    def l1() -> None:
        restored = base.clone().requires_grad_()
        F.l1_loss(restored, clean).backward()

    def lower_bound() -> None:
        restored = base.clone().requires_grad_()
        clip.encode_image(perceiver.preprocess(restored)).sum().backward()
        with torch.no_grad():
            clip.encode_image(perceiver.preprocess(torch.cat([clean, degraded, medium])))

    def quality_aware() -> None:
        restored = base.clone().requires_grad_()
        loss_fn(restored, clean, degraded, medium=medium).loss.backward()

    t = interleaved_median({"l1": l1, "lower_bound": lower_bound, "quality_aware": quality_aware}, device, args.rounds)
    print(f"device={device} batch={b} size={s}² CLIP=ViT-B/32 (random weights) rounds={args.rounds}")
    print(f"{'variant':<15}{'median s':>10}{'/ lower bound':>15}")
    for name, seconds in t.items():
        print(f"{name:<15}{seconds:>10.4f}{seconds / t['lower_bound']:>15.3f}")
    ratio = t["quality_aware"] / t["lower_bound"]
    print(f"quality_aware / lower_bound = {ratio:.3f} (target <= 1.15): {'met' if ratio <= 1.15 else 'NOT met'}")


if __name__ == "__main__":
    main()
