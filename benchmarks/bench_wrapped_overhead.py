"""What does wrapping a backbone cost at inference, beyond the frozen DINOv2 forward itself?

Backbones: NAFNet width 32 (as in its SIDD model) and the paper's Restormer (dim 48, blocks
[4, 6, 6, 8], heads [1, 2, 4, 8], 4 refinement blocks), guided at the latent and three decoder
levels. The Restormer is wrapped twice on the same network: with FiLM only, and with FiLM plus
the paper's channel cross-attention at every guided level. Measured side by side in one run
(round-robin, order alternating every round):

* ``bare``    — the backbone alone;
* ``dinov2``  — the DINOv2-base forward the wrapper needs (224², CLS tokens of 4 layers);
* ``wrapped`` — ``wrap_backbone(net)(x)``: CFE + DINOv2 + FiLM heads + hooks (+ cross-attention).

Two figures per row:

* ``side by side`` — the per-round median (quartiles beside it) of
  ``wrapped / (bare + dinov2) − 1``;
* ``own work`` — the wrapper's own work timed alone and divided by ``bare + dinov2``: the CFE
  on the image, the FiLM heads, and every guided level's FiLM (and cross-attention) applied to
  feature maps of the shapes the hooks see. These are short calls with little spread, so this
  figure stays readable on a shared machine where single backbone calls move by ±10 %.

Target: the hooks, FiLM and CFE add at most 3 %. The cross-attention is not overhead but a
learned block of the method with its own FLOPs; the ``+ cross-attention`` row reports what it
costs. Also reported: parameters and FLOPs (``torch.utils.flop_counter``). Models are built
from configs with random weights: speed does not depend on the weights.

    .venv/bin/python benchmarks/bench_wrapped_overhead.py [--sizes 256 512] [--rounds 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved_times, paired_ratio  # noqa: E402

from perceive_ir import WrappedBackbone, wrap_backbone  # noqa: E402

RESTORMER_LEVELS = ["latent", "decoder_level3", "decoder_level2", "decoder_level1"]


def backbones() -> dict[str, tuple[torch.nn.Module, dict[str, dict]]]:
    """Each backbone with the wrapper options of each variant measured on it."""
    from spandrel.architectures.NAFNet.__arch.NAFNet_arch import NAFNet
    from spandrel_extra_arches.architectures.Restormer.__arch.restormer_arch import Restormer

    nafnet = NAFNet(width=32, enc_blk_nums=[2, 2, 4, 8], middle_blk_num=12, dec_blk_nums=[2, 2, 2, 2])
    restormer = Restormer(dim=48, num_blocks=[4, 6, 6, 8], num_refinement_blocks=4, heads=[1, 2, 4, 8])
    return {
        "NAFNet-w32": (nafnet, {"FiLM": {"multiple": 16}}),
        "Restormer (paper)": (
            restormer,
            {
                "FiLM": {"multiple": 8, "layers": RESTORMER_LEVELS},
                "+ cross-attention": {"multiple": 8, "layers": RESTORMER_LEVELS, "cross_attention": True},
            },
        ),
    }


def flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def count(module: torch.nn.Module, trainable: bool | None = None) -> int:
    return sum(p.numel() for p in module.parameters() if trainable is None or p.requires_grad == trainable)


def hooked_shapes(model: WrappedBackbone, x: torch.Tensor) -> list[torch.Size]:
    """Shapes of the guided modules' outputs on ``x`` (what the hooks modulate)."""
    shapes: list[torch.Size] = []
    handles = [
        model.backbone.get_submodule(name).register_forward_hook(lambda m, a, out: shapes.append(out.shape))
        for name in model.hooked_layers
    ]
    try:
        model(x)  # the wrapper pads as it does for real; FiLM keeps each output's shape
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def own_work(model: WrappedBackbone, x: torch.Tensor):
    """Everything the wrapper adds besides DINOv2 and the backbone, on the same shapes."""
    semantic = model.adapter.semantic
    features = semantic.encode(x)
    maps = [torch.randn(shape, device=x.device) for shape in hooked_shapes(model, x)]

    def run() -> None:
        z = model.condition_vector(x)
        params = semantic.modulation(features, z)
        for level, feature_map in enumerate(maps):
            semantic.apply_level(level, feature_map, *params[level])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if any(size < 16 or size % 16 for size in args.sizes):
        # the bare backbones run unpadded: NAFNet needs a multiple of 16, Restormer of 8
        parser.error(f"--sizes must be positive multiples of 16, got {args.sizes}")
    device = torch.device(args.device)
    from transformers import Dinov2Config

    torch.manual_seed(0)
    print(f"device={device}; DINOv2-base from its config (random weights); rounds={args.rounds}")
    rows = []
    for name, (net, variants) in backbones().items():
        net = net.to(device).eval()
        models = {
            label: wrap_backbone(net, semantic_encoder=Dinov2Config(), **options).to(device).eval()
            for label, options in variants.items()
        }
        first = next(iter(models.values()))
        semantic = first.adapter.semantic
        print(f"{name}: backbone {count(net) / 1e6:.2f} M parameters, DINOv2 (frozen) "
              f"{count(semantic.encoder) / 1e6:.1f} M, hooked {first.hooked_layers}")
        for label, model in models.items():
            print(f"  {label}: adapter (trainable) {count(model.adapter, True) / 1e6:.2f} M")
        for size in args.sizes:
            x = torch.rand(1, 3, size, size, device=device)
            with torch.inference_mode():
                # partial binds this iteration's net, encoder and input now, not when called
                timed = {"bare": partial(net, x), "dinov2": partial(semantic.encode, x)}
                timed |= {f"wrapped {label}": partial(model, x) for label, model in models.items()}
                timed |= {f"own {label}": own_work(model, x) for label, model in models.items()}
                times = interleaved_times(timed, device, rounds=args.rounds, warmup=1)
                f_bare = flops(partial(net, x))
                f_wrapped = {label: flops(partial(model, x)) for label, model in models.items()}
            t = {k: statistics.median(v) for k, v in times.items()}
            for label in models:
                ratio, q1, q3 = paired_ratio(times, [f"wrapped {label}"], ["bare", "dinov2"])
                own = t[f"own {label}"] / (t["bare"] + t["dinov2"])
                rows.append(
                    f"{name + ', ' + label:<38}{size:>6}{t['bare']:>9.3f}{t['dinov2']:>9.3f}"
                    f"{t[f'wrapped {label}']:>10.3f}{(ratio - 1) * 100:>12.1f}%"
                    f"{f'{(q1 - 1) * 100:.1f} to {(q3 - 1) * 100:.1f}%':>17}{t[f'own {label}']:>9.3f}"
                    f"{own * 100:>8.2f}%{f_bare / 1e9:>10.1f}{f_wrapped[label] / 1e9:>10.1f}"
                )
    print(f"{'backbone, wrapper':<38}{'size':>6}{'bare s':>9}{'dinov2 s':>9}{'wrapped s':>10}{'side by side':>13}"
          f"{'quartiles':>17}{'own s':>9}{'own/base':>9}{'GFLOPs':>10}{'GFLOPs w':>10}")
    print("\n".join(rows))
    print("side by side = per-round median of wrapped / (bare + dinov2) - 1; "
          "own/base = the wrapper's own work / (bare + dinov2); target <= 3% (FiLM rows)")


if __name__ == "__main__":
    main()
