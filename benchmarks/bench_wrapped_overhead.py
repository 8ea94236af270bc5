"""What does wrapping a backbone cost at inference, beyond the frozen DINOv2 forward itself?

For each backbone (NAFNet width 32 as in its SIDD model, and the paper's Restormer: dim 48,
blocks [4, 6, 6, 8], heads [1, 2, 4, 8], 4 refinement blocks, guided at the latent and three
decoder levels with cross-attention) and image size, measured side by side in one run
(round-robin, median):

* ``bare``    — the backbone alone;
* ``dinov2``  — the DINOv2-base forward the wrapper needs (224², CLS tokens of 4 layers);
* ``wrapped`` — ``wrap_backbone(net)(x)``: CFE + DINOv2 + FiLM heads + hooks (+ cross-attention).

``overhead = wrapped / (bare + dinov2) − 1``, taken per round and reported as the median
(with quartiles) over rounds, is what the hooks, FiLM, cross-attention and CFE
add; target ≤ 3 %. Also reported: parameters (backbone, trainable adapter, frozen DINOv2) and
FLOPs (``torch.utils.flop_counter``). All models are built from configs with random weights:
speed does not depend on the weights.

    .venv/bin/python benchmarks/bench_wrapped_overhead.py [--sizes 256 512] [--rounds 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved_times, paired_ratio  # noqa: E402

from perceive_ir import wrap_backbone  # noqa: E402


def backbones() -> dict[str, tuple[torch.nn.Module, dict]]:
    from spandrel.architectures.NAFNet.__arch.NAFNet_arch import NAFNet
    from spandrel_extra_arches.architectures.Restormer.__arch.restormer_arch import Restormer

    nafnet = NAFNet(width=32, enc_blk_nums=[2, 2, 4, 8], middle_blk_num=12, dec_blk_nums=[2, 2, 2, 2])
    restormer = Restormer(dim=48, num_blocks=[4, 6, 6, 8], num_refinement_blocks=4, heads=[1, 2, 4, 8])
    return {
        "NAFNet-w32": (nafnet, {"pad_to": 16}),
        "Restormer (paper)": (
            restormer,
            {
                "pad_to": 8,
                "cross_attention": True,
                "layers": ["latent", "decoder_level3", "decoder_level2", "decoder_level1"],
            },
        ),
    }


def flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def count(module: torch.nn.Module, trainable: bool | None = None) -> int:
    return sum(p.numel() for p in module.parameters() if trainable is None or p.requires_grad == trainable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    from transformers import Dinov2Config

    torch.manual_seed(0)
    print(f"device={device}; DINOv2-base from its config (random weights); rounds={args.rounds}")
    header = f"{'backbone':<18}{'size':>6}{'bare s':>9}{'dinov2 s':>10}{'wrapped s':>11}{'overhead':>10}{'quartiles':>18}{'GFLOPs bare':>13}{'GFLOPs wrapped':>16}"
    rows = []
    for name, (net, options) in backbones().items():
        net = net.to(device).eval()
        model = wrap_backbone(net, semantic_encoder=Dinov2Config(), **options).to(device).eval()
        semantic = model.adapter.semantic
        print(
            f"{name}: hooked {model.hooked_layers}; parameters backbone {count(net) / 1e6:.2f} M, "
            f"adapter (trainable) {count(model.adapter, True) / 1e6:.2f} M, DINOv2 (frozen) {count(semantic.encoder) / 1e6:.1f} M"
        )
        for size in args.sizes:
            x = torch.rand(1, 3, size, size, device=device)
            with torch.inference_mode():
                times = interleaved_times(
                    {"bare": lambda: net(x), "dinov2": lambda: semantic.encode(x), "wrapped": lambda: model(x)},
                    device,
                    rounds=args.rounds,
                    warmup=1,
                )
                f_bare, f_wrapped = flops(lambda: net(x)), flops(lambda: model(x))
            t = {k: statistics.median(v) for k, v in times.items()}
            ratio, q1, q3 = paired_ratio(times, ["wrapped"], ["bare", "dinov2"])
            rows.append(
                f"{name:<18}{size:>6}{t['bare']:>9.3f}{t['dinov2']:>10.3f}{t['wrapped']:>11.3f}"
                f"{(ratio - 1) * 100:>9.1f}%{f'{(q1 - 1) * 100:.1f} to {(q3 - 1) * 100:.1f}%':>18}"
                f"{f_bare / 1e9:>13.1f}{f_wrapped / 1e9:>16.1f}"
            )
    print(header)
    print("\n".join(rows))
    print("overhead = per-round median of wrapped / (bare + dinov2) - 1 (quartiles beside it); target <= 3%")


if __name__ == "__main__":
    main()
