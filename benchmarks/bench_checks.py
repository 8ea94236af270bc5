"""What do the input value checks cost, now that they sit at the API edges and not in module forwards?

A value check (``check_image``'s NaN/Inf and ``[0, 1]`` range test) is one ``aminmax`` over the
image, read back to the host: on a GPU a device→host sync, on any device a pass over the
image. The forwards of the authors' ``PerceiveIRNet`` and of the wrapped presets used to run
four of them per call (the guidance, the tile, the U-Net or hooks, the CFE); now they check
shapes and dtypes only, and :func:`perceive_ir.restore`, the CLI, the datasets and the loss's
entry check values once. Measured side by side in one run (round-robin, order alternating):

* ``checks on``  — ``model(x)`` with :func:`perceive_ir.set_checks` ``(True)`` (the default);
* ``checks off`` — ``model(x)`` with ``set_checks(False)``;
* ``earlier``    — ``model(x)`` plus the four value checks its forward ran before the move
  (emulated: four ``check_image`` calls on the image, as the earlier code made them);
* ``edge``       — the one value check an edge (``restore()``) makes per call, alone.

Ratios are per-round medians with their quartiles: ``on/off − 1`` (what the forward still pays
for the switch being on: nothing but a flag read) and ``earlier/off − 1`` (what the move saves).
On a shared machine whole-model calls move by tens of percent from round to round, so the last
column bounds the saving from the short, steady ``edge`` call instead: ``4 × edge / off``.

Sizes: ``--size paper`` builds the authors' sizes (PerceiveIRNet dim 48, blocks 4/6/6/8 with a
DINOv2-base from its config; the ``restormer`` and ``nafnet`` presets at their paper sizes);
``--size small`` (default, for a CPU) builds PerceiveIRNet dim 16, one block per level, a
12-layer DINOv2 of width 64, and the ``-small`` presets with the same DINOv2. Random weights:
speed does not depend on them.

    .venv/bin/python benchmarks/bench_checks.py [--size small|paper] [--side 128] [--rounds 7] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved_times, paired_ratio  # noqa: E402

from perceive_ir import set_checks  # noqa: E402
from perceive_ir._validation import check_image  # noqa: E402

#: Value checks a forward ran on its input before the move to the edges (guidance, tile, body, CFE).
EARLIER_CHECKS = 4


def dinov2(size: str) -> object:
    from transformers import Dinov2Config

    if size == "paper":
        return Dinov2Config()  # DINOv2-base: width 768, 12 layers
    return Dinov2Config(hidden_size=64, num_hidden_layers=12, num_attention_heads=2, intermediate_size=128)


def models(size: str) -> dict[str, nn.Module]:
    """The authors' network and the two wrapped presets, at the chosen size."""
    from perceive_ir.models.official import PerceiveIRNet
    from perceive_ir.models.presets import perceive_ir_nafnet, perceive_ir_restormer

    encoder = dinov2(size)
    preset = "paper" if size == "paper" else "small"
    official = {} if size == "paper" else {"dim": 16, "blocks": (1, 1, 1, 1), "refinement_blocks": 1}
    return {
        "PerceiveIRNet": PerceiveIRNet(semantic_encoder=encoder, **official),
        f"restormer preset ({preset})": perceive_ir_restormer(preset, semantic_encoder=encoder),
        f"nafnet preset ({preset})": perceive_ir_nafnet(preset, semantic_encoder=encoder),
    }


def variants(model: nn.Module, x: torch.Tensor) -> dict[str, object]:
    def on() -> None:
        set_checks(True)
        model(x)

    def off() -> None:
        set_checks(False)
        model(x)
        set_checks(True)

    def earlier() -> None:
        set_checks(True)
        for _ in range(EARLIER_CHECKS):
            check_image(x, "image")
        model(x)

    def edge() -> None:
        check_image(x, "image")

    return {"on": on, "off": off, "earlier": earlier, "edge": edge}


def spread(times: dict[str, list[float]], numerator: str, denominator: str) -> str:
    ratio, q1, q3 = paired_ratio(times, [numerator], [denominator])
    return f"{(ratio - 1) * 100:+.2f}% [{(q1 - 1) * 100:+.2f}, {(q3 - 1) * 100:+.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("small", "paper"), default="small")
    parser.add_argument("--side", type=int, default=128, help="image side (a multiple of 16)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.rand(1, 3, args.side, args.side, device=device)
    print(f"device={device}; size={args.size}; image 1x3x{args.side}x{args.side}; rounds={args.rounds}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rows = []
    for name, model in models(args.size).items():
        model = model.to(device).eval()
        with torch.inference_mode():
            times = interleaved_times(variants(model, x), device, rounds=args.rounds, warmup=1)
        t = {k: statistics.median(v) for k, v in times.items()}
        rows.append(f"{name:<28}{t['on']:>10.4f}{t['off']:>10.4f}{t['earlier']:>10.4f}{t['edge'] * 1e3:>9.3f}"
                    f"{spread(times, 'on', 'off'):>28}{spread(times, 'earlier', 'off'):>28}"
                    f"{EARLIER_CHECKS * t['edge'] / t['off'] * 100:>11.3f}%")
    print(f"{'model':<28}{'on s':>10}{'off s':>10}{'earlier s':>10}{'edge ms':>9}"
          f"{'on/off - 1 [quartiles]':>28}{'earlier/off - 1 [quartiles]':>28}{'4 edge/off':>12}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
