"""Perceiver scoring throughput against raw open_clip ``encode_image`` on the same model and batch.

``raw`` is open_clip's ``encode_image`` on an already CLIP-normalised batch (the least work
any CLIP scorer does); ``raw_normalise_encode`` is what a user of open_clip alone writes for a
``[0, 1]`` batch (CLIP normalisation with open_clip's constants, then ``encode_image``);
``perceiver`` is ``QualityPerceiver.score`` on the ``[0, 1]`` batch
(input checks, normalisation, cached tier features, softmax). Images are already at CLIP's
input size, so neither resizes. Target: throughput ratio ≥ 0.97. Real-size ViT-B/32 from its
open_clip config with random weights: speed does not depend on the weights.

The ratio is taken per round (raw and perceiver run back to back, in alternating order) and
its median and quartiles over the rounds are reported: on a shared CPU a slow spell then hits
both sides of a ratio. A control — the raw call timed a second time in each round — shows
how far the ratio of two identical calls strays on the machine at hand. The script also times
the perceiver's own work alone (input checks, normalisation, cached text features, logits,
softmax) and reports the ratio it bounds: raw / (raw + own work).

    .venv/bin/python benchmarks/bench_perceiver_throughput.py [--batch 32] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved_times, paired_ratio  # noqa: E402

from perceive_ir import QualityPerceiver  # noqa: E402
from perceive_ir._validation import OUTPUT_RANGE_SLACK, check_image  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    perceiver = QualityPerceiver("ViT-B-32", clip_pretrained=None).to(device).freeze()
    images = torch.rand(args.batch, 3, *perceiver.image_size, device=device)
    normalised = perceiver.preprocess(images)

    @torch.no_grad()
    def raw() -> None:
        perceiver.clip.encode_image(normalised)

    mean = torch.tensor(OPENAI_DATASET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD, device=device).view(1, 3, 1, 1)

    @torch.no_grad()
    def raw_normalise_encode() -> None:
        perceiver.clip.encode_image((images - mean) / std)

    @torch.no_grad()
    def score() -> None:
        perceiver.score(images)

    features = torch.nn.functional.normalize(perceiver.clip.encode_image(normalised), dim=-1).detach()

    @torch.no_grad()
    def own_work() -> None:  # everything score() does besides the CLIP image forward
        check_image(images, "images", slack=OUTPUT_RANGE_SLACK)
        perceiver.preprocess(images)
        probs = perceiver.logits_from_features(features).softmax(dim=-1)
        probs @ probs.new_tensor([0.0, 0.5, 1.0])

    # the control is the raw call again: its ratio to raw shows the spread of identical work
    times = interleaved_times({"raw_encode_image": raw, "raw_normalise_encode": raw_normalise_encode,
                               "perceiver_score": score, "raw_again_control": raw, "own_work": own_work},
                              device, args.rounds)
    t = {name: statistics.median(values) for name, values in times.items()}
    ratio, q1, q3 = paired_ratio(times, ["raw_encode_image"], ["perceiver_score"])
    fair, f1, f3 = paired_ratio(times, ["raw_normalise_encode"], ["perceiver_score"])
    control, c1, c3 = paired_ratio(times, ["raw_encode_image"], ["raw_again_control"])
    bound = t["raw_encode_image"] / (t["raw_encode_image"] + t["own_work"])
    print(f"device={device} batch={args.batch} CLIP=ViT-B/32 (random weights) rounds={args.rounds}")
    for name, seconds in t.items():
        print(f"{name:<22}{seconds:>10.4f} s/batch (median) {args.batch / seconds:>10.1f} images/s")
    print(f"throughput perceiver / raw, per-round median = {ratio:.3f} (quartiles {q1:.3f}-{q3:.3f}; "
          f"target >= 0.97): {'met' if ratio >= 0.97 else 'NOT met'}")
    print(f"throughput perceiver / (normalisation + encode_image), per-round median = {fair:.3f} "
          f"(quartiles {f1:.3f}-{f3:.3f}; target >= 0.97): {'met' if fair >= 0.97 else 'NOT met'}")
    print(f"control: raw / the same raw call again, per-round median = {control:.3f} (quartiles {c1:.3f}-{c3:.3f}): "
          "the spread identical work shows on this machine")
    print(f"throughput bound from the perceiver's own work = {bound:.4f} (target >= 0.97): "
          f"{'met' if bound >= 0.97 else 'NOT met'}")


if __name__ == "__main__":
    main()
